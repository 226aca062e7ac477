// kernel `seed`: elementwise, 2097152 elements, 512 grid points coarsened

// x (f32, 2097152 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// y (f32, 2097152 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 2097152 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;


@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var e = gid.x; e < 2097152u; e = e + 524288u) {
    let x9 = bitcast<f32>(g0[e]);
    let x10 = bitcast<f32>(g1[e]);
    let x11 = (x9 + x10);
    let x12 = 2.0f;
    let x13 = (x11 * x12);
    let x14 = sin(x13);
    g2[e] = bitcast<u32>(x14);
  }
}
