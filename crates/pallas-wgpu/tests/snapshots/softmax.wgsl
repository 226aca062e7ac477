// kernel `softmax`: general, grid [8] (1 parallel dims over workgroups), 6672 area words per workgroup in a global buffer

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
  let ab = w * 6672u;
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
  var total_4: f32;
  var total_6: f32;
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
      v3 = 0i;
      nb1_0 = pt0;
      if (!(nb1_0 >= 0i && nb1_0 < 8i)) { fault(3u); }
      nb1_1 = v3;
      if (!(nb1_1 >= 0i && nb1_1 < 1i)) { fault(4u); }
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
        if (e < 256u) {
          let o = e / 32u;
          let p = e % 32u;
          var part_3: f32 = bitcast<f32>(0xff800000u);
          for (var j0 = 0u; j0 < 256u; j0 = j0 + 32u) {
            let j = j0 + p;
            if (j < 256u) {
              part_3 = max_f32(part_3, bitcast<f32>(la[ab + 0u + (0u + o * 256u + 0u + j * 1u)]));
            }
          }
          la[ab + 4096u + e] = bitcast<u32>(part_3);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 8u) {
          total_4 = bitcast<f32>(0xff800000u);
          for (var q0 = 0u; q0 < 32u; q0 = q0 + 8u) {
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 0u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 1u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 2u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 3u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 4u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 5u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 6u]));
            total_4 = max_f32(total_4, bitcast<f32>(la[ab + 4096u + e * 32u + q0 + 7u]));
          }
          la[ab + 4352u + e] = bitcast<u32>(total_4);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 4360u + e] = bitcast<u32>(exp((bitcast<f32>(la[ab + 0u + e]) - bitcast<f32>(la[ab + 4352u + (0u + (e / 256u) * 1u)]))));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 256u) {
          let o = e / 32u;
          let p = e % 32u;
          var part_5: f32 = 0.0f;
          for (var j0 = 0u; j0 < 256u; j0 = j0 + 32u) {
            let j = j0 + p;
            if (j < 256u) {
              part_5 = (part_5 + bitcast<f32>(la[ab + 4360u + (0u + o * 256u + 0u + j * 1u)]));
            }
          }
          la[ab + 6408u + e] = bitcast<u32>(part_5);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 8u) {
          total_6 = 0.0f;
          for (var q0 = 0u; q0 < 32u; q0 = q0 + 8u) {
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 0u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 1u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 2u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 3u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 4u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 5u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 6u]));
            total_6 = (total_6 + bitcast<f32>(la[ab + 6408u + e * 32u + q0 + 7u]));
          }
          la[ab + 6664u + e] = bitcast<u32>(total_6);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (2048u + (e / 256u) * 256u + (e % 256u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + 4360u + e]) / bitcast<f32>(la[ab + 6664u + (0u + (e / 256u) * 1u)])));
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
  if (probe != probe_trips) { fault(5u); }
}
