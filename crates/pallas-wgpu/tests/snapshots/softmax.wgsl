// kernel `softmax`: general, grid [8] (1 parallel dims over workgroups), 14352 area words per workgroup in a global buffer

// x (f32, 16384 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// o (f32, 16384 words)
@group(0) @binding(1) var<storage, read_write> g1: array<u32>;
@group(0) @binding(2) var<storage, read_write> la: array<u32>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u); } return max(a, b); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 14352u;
  var pt0: i32 = 0i;
  var have0: bool = false;
  var bi0_0: i32 = 0i;
  var nb0_0: i32 = 0i;
  var bi0_1: i32 = 0i;
  var nb0_1: i32 = 0i;
  var have1: bool = false;
  var bi1_0: i32 = 0i;
  var nb1_0: i32 = 0i;
  var bi1_1: i32 = 0i;
  var nb1_1: i32 = 0i;
  var v1: i32;
  var v3: i32;
  var acc_3: f32;
  var bi_4: i32;
  var acc_5: f32;
  var bi_6: i32;
  for (var pp = w; pp < 8u; pp = pp + 8u) {
    pt0 = i32((pp / 1u) % 8u);
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      v1 = 0i;
      nb0_0 = pt0;
      nb0_1 = v1;
      if (!((nb0_0 >= 0i && nb0_0 < 8i) && (nb0_1 >= 0i && nb0_1 < 1i))) { fault(1u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have0 || nb0_0 != bi0_0 || nb0_1 != bi0_1);
      }
      let u_1 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_1) {
        bi0_0 = nb0_0;
        bi0_1 = nb0_1;
        have0 = true;
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi0_0) * 8u + (e / 256u)) < 64u && (u32(bi0_1) * 256u + (e % 256u)) < 256u) {
              la[ab + 0u + e] = g0[0u + (u32(bi0_0) * 8u + (e / 256u)) * 256u + (u32(bi0_1) * 256u + (e % 256u)) * 1u];
            }
            else {
              la[ab + 0u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      v3 = 0i;
      nb1_0 = pt0;
      nb1_1 = v3;
      if (!((nb1_0 >= 0i && nb1_0 < 8i) && (nb1_1 >= 0i && nb1_1 < 1i))) { fault(2u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0 || nb1_1 != bi1_1);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        if (have1) {
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi1_0) * 8u + (e / 256u)) < 64u && (u32(bi1_1) * 256u + (e % 256u)) < 256u) {
                g1[0u + (u32(bi1_0) * 8u + (e / 256u)) * 256u + (u32(bi1_1) * 256u + (e % 256u)) * 1u] = la[ab + 2048u + e];
              }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }
        bi1_0 = nb1_0;
        bi1_1 = nb1_1;
        have1 = true;
        storageBarrier();
        workgroupBarrier();
      }
      {
        let e = lid;
        if (e < 8u) {
          acc_3 = bitcast<f32>(0xff800000u);
          for (var j0 = 0u; j0 < 256u; j0 = j0 + 8u) {
            { let j = j0 + 0u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 1u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 2u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 3u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 4u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 5u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 6u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 7u;
            acc_3 = max_f32(acc_3, bitcast<f32>(la[ab + 0u + (0u + e * 256u + 0u + j * 1u)])); }
          }
          la[ab + 4096u + e] = bitcast<u32>(acc_3);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 4104u + e] = bitcast<u32>(bitcast<f32>(la[ab + 4096u + (0u + (e / 256u) * 1u)]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 6152u + e] = bitcast<u32>((bitcast<f32>(la[ab + 0u + e]) - bitcast<f32>(la[ab + 4104u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 8200u + e] = bitcast<u32>(exp(bitcast<f32>(la[ab + 6152u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 8u) {
          acc_5 = 0.0f;
          for (var j0 = 0u; j0 < 256u; j0 = j0 + 8u) {
            { let j = j0 + 0u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 1u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 2u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 3u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 4u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 5u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 6u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
            { let j = j0 + 7u;
            acc_5 = (acc_5 + bitcast<f32>(la[ab + 8200u + (0u + e * 256u + 0u + j * 1u)])); }
          }
          la[ab + 10248u + e] = bitcast<u32>(acc_5);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 10256u + e] = bitcast<u32>(bitcast<f32>(la[ab + 10248u + (0u + (e / 256u) * 1u)]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 12304u + e] = bitcast<u32>((bitcast<f32>(la[ab + 8200u + e]) / bitcast<f32>(la[ab + 10256u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (2048u + (e / 256u) * 256u + (e % 256u) * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 12304u + e]));
        }
      }
      storageBarrier();
      workgroupBarrier();
    }
  }
  if (have1) {
    for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi1_0) * 8u + (e / 256u)) < 64u && (u32(bi1_1) * 256u + (e % 256u)) < 256u) {
          g1[0u + (u32(bi1_0) * 8u + (e / 256u)) * 256u + (u32(bi1_1) * 256u + (e % 256u)) * 1u] = la[ab + 2048u + e];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(3u); }
}
