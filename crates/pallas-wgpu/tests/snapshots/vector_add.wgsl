// kernel `vector_add`: elementwise, 1000 elements, 8 grid points coarsened

// x (f32, 1000 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// y (f32, 1000 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 1000 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;


@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < 1000u; e = e + 256u) {
    let x6 = bitcast<f32>(g0[e]);
    let x7 = bitcast<f32>(g1[e]);
    let x8 = (x6 + x7);
    g2[e] = bitcast<u32>(x8);
  }
}
