// kernel `rms_norm`: general, grid [8] (1 parallel dims over workgroups), 4624 area words per workgroup in a global buffer

// x (f32, 16384 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// w (f32, 256 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 16384 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;
@group(0) @binding(3) var<storage, read_write> la: array<u32>;
@group(0) @binding(4) var<storage, read_write> err: array<atomic<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 4624u;
  var pt0: i32 = 0i;
  var have0: bool = false;
  var bi0_0: i32 = 0i;
  var nb0_0: i32 = 0i;
  var bi0_1: i32 = 0i;
  var nb0_1: i32 = 0i;
  var have1: bool = false;
  var bi1_0: i32 = 0i;
  var nb1_0: i32 = 0i;
  var have2: bool = false;
  var bi2_0: i32 = 0i;
  var nb2_0: i32 = 0i;
  var bi2_1: i32 = 0i;
  var nb2_1: i32 = 0i;
  var v1: i32;
  var v3: i32;
  var total_5: f32;
  var v10: f32;
  var v12: f32;
  for (var pp = w; pp < 8u; pp = pp + 8u) {
    pt0 = i32((pp / 1u) % 8u);
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      v1 = 0i;
      nb0_0 = pt0;
      if (!(nb0_0 >= 0i && nb0_0 < 8i)) { fault(1u); }
      nb0_1 = v1;
      if (!(nb0_1 >= 0i && nb0_1 < 1i)) { fault(2u); }
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
      nb1_0 = 0i;
      if (!(nb1_0 >= 0i && nb1_0 < 1i)) { fault(3u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        bi1_0 = nb1_0;
        have1 = true;
        {
          let e = lid;
          if (e < 256u) {
            if ((u32(bi1_0) * 256u + e) < 256u) {
              la[ab + 2048u + e] = g1[0u + (u32(bi1_0) * 256u + e) * 1u];
            }
            else {
              la[ab + 2048u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      v3 = 0i;
      nb2_0 = pt0;
      if (!(nb2_0 >= 0i && nb2_0 < 8i)) { fault(4u); }
      nb2_1 = v3;
      if (!(nb2_1 >= 0i && nb2_1 < 1i)) { fault(5u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have2 || nb2_0 != bi2_0 || nb2_1 != bi2_1);
      }
      let u_3 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_3) {
        if (have2) {
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi2_0) * 8u + (e / 256u)) < 64u && (u32(bi2_1) * 256u + (e % 256u)) < 256u) {
                g2[0u + (u32(bi2_0) * 8u + (e / 256u)) * 256u + (u32(bi2_1) * 256u + (e % 256u)) * 1u] = la[ab + 2304u + e];
              }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }
        bi2_0 = nb2_0;
        bi2_1 = nb2_1;
        have2 = true;
        storageBarrier();
        workgroupBarrier();
      }
      {
        let e = lid;
        if (e < 256u) {
          let o = e / 32u;
          let p = e % 32u;
          var part_4: f32 = 0.0f;
          for (var j0 = 0u; j0 < 256u; j0 = j0 + 32u) {
            let j = j0 + p;
            if (j < 256u) {
              part_4 = (part_4 + (bitcast<f32>(la[ab + 0u + (0u + o * 256u + 0u + j * 1u)]) * bitcast<f32>(la[ab + 0u + (0u + o * 256u + 0u + j * 1u)])));
            }
          }
          la[ab + 4352u + e] = bitcast<u32>(part_4);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 8u) {
          total_5 = 0.0f;
          for (var q0 = 0u; q0 < 32u; q0 = q0 + 8u) {
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 0u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 1u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 2u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 3u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 4u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 5u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 6u]));
            total_5 = (total_5 + bitcast<f32>(la[ab + 4352u + e * 32u + q0 + 7u]));
          }
          la[ab + 4608u + e] = bitcast<u32>(total_5);
        }
      }
      storageBarrier();
      workgroupBarrier();
      v10 = 256.0f;
      v12 = 1e-6f;
      {
        let e = lid;
        if (e < 8u) {
          la[ab + 4616u + e] = bitcast<u32>((1.0f / sqrt(((bitcast<f32>(la[ab + 4608u + e]) / v10) + v12))));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (2304u + (e / 256u) * 256u + (e % 256u) * 1u)] = bitcast<u32>(((bitcast<f32>(la[ab + 0u + e]) * bitcast<f32>(la[ab + 4616u + (0u + (e / 256u) * 1u)])) * bitcast<f32>(la[ab + 2048u + (0u + (e % 256u) * 1u)])));
        }
      }
      storageBarrier();
      workgroupBarrier();
    }
  }
  if (have2) {
    for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi2_0) * 8u + (e / 256u)) < 64u && (u32(bi2_1) * 256u + (e % 256u)) < 256u) {
          g2[0u + (u32(bi2_0) * 8u + (e / 256u)) * 256u + (u32(bi2_1) * 256u + (e % 256u)) * 1u] = la[ab + 2304u + e];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(6u); }
}
