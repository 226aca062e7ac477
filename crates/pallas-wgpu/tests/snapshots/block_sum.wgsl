// kernel `block_sum`: general, grid [8] (1 parallel dims over workgroups), 164 area words in workgroup memory

// x (f32, 1024 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// s (f32, 8 words)
@group(0) @binding(1) var<storage, read_write> g1: array<u32>;
var<workgroup> wa: array<u32, 164>;
@group(0) @binding(2) var<storage, read_write> err: array<atomic<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  var pt0: i32 = 0i;
  var have0: bool = false;
  var bi0_0: i32 = 0i;
  var nb0_0: i32 = 0i;
  var have1: bool = false;
  var bi1_0: i32 = 0i;
  var nb1_0: i32 = 0i;
  var total_4: f32;
  var v5: f32;
  for (var pp = w; pp < 8u; pp = pp + 8u) {
    pt0 = i32((pp / 1u) % 8u);
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      nb0_0 = pt0;
      if (!(nb0_0 >= 0i && nb0_0 < 8i)) { fault(1u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have0 || nb0_0 != bi0_0);
      }
      let u_1 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_1) {
        bi0_0 = nb0_0;
        have0 = true;
        {
          let e = lid;
          if (e < 128u) {
            if ((u32(bi0_0) * 128u + e) < 1024u) {
              wa[0u + e] = g0[0u + (u32(bi0_0) * 128u + e) * 1u];
            }
            else {
              wa[0u + e] = 0u;
            }
          }
        }
        workgroupBarrier();
      }
      nb1_0 = pt0;
      if (!(nb1_0 >= 0i && nb1_0 < 8i)) { fault(2u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        if (have1) {
          {
            let e = lid;
            if (e < 1u) {
              if ((u32(bi1_0) * 1u + e) < 8u) {
                g1[0u + (u32(bi1_0) * 1u + e) * 1u] = wa[128u + e];
              }
            }
          }
          workgroupBarrier();
        }
        bi1_0 = nb1_0;
        have1 = true;
        workgroupBarrier();
      }
      {
        let e = lid;
        if (e < 32u) {
          let o = e / 32u;
          let p = e % 32u;
          var part_3: f32 = 0.0f;
          for (var j0 = 0u; j0 < 128u; j0 = j0 + 32u) {
            let j = j0 + p;
            if (j < 128u) {
              part_3 = (part_3 + bitcast<f32>(wa[0u + (0u + 0u + j * 1u)]));
            }
          }
          wa[132u + e] = bitcast<u32>(part_3);
        }
      }
      workgroupBarrier();
      total_4 = 0.0f;
      for (var q0 = 0u; q0 < 32u; q0 = q0 + 8u) {
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 0u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 1u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 2u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 3u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 4u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 5u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 6u]));
        total_4 = (total_4 + bitcast<f32>(wa[132u + 0u * 32u + q0 + 7u]));
      }
      v5 = total_4;
      workgroupBarrier();
      {
        let e = lid;
        if (e < 1u) {
          wa[(128u)] = bitcast<u32>(v5);
        }
      }
      workgroupBarrier();
    }
  }
  if (have1) {
    {
      let e = lid;
      if (e < 1u) {
        if ((u32(bi1_0) * 1u + e) < 8u) {
          g1[0u + (u32(bi1_0) * 1u + e) * 1u] = wa[128u + e];
        }
      }
    }
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(3u); }
}
