// kernel `cumsum_rows`: general, grid [4] (1 parallel dims over workgroups), 3072 area words in workgroup memory

// x (f32, 4096 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// o (f32, 4096 words)
@group(0) @binding(1) var<storage, read_write> g1: array<u32>;
var<workgroup> wa: array<u32, 3072>;
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
  var bi0_1: i32 = 0i;
  var nb0_1: i32 = 0i;
  var have1: bool = false;
  var bi1_0: i32 = 0i;
  var nb1_0: i32 = 0i;
  var bi1_1: i32 = 0i;
  var nb1_1: i32 = 0i;
  var v1: i32;
  var v3: i32;
  for (var pp = w; pp < 4u; pp = pp + 4u) {
    pt0 = i32((pp / 1u) % 4u);
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      v1 = 0i;
      nb0_0 = pt0;
      if (!(nb0_0 >= 0i && nb0_0 < 4i)) { fault(1u); }
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
        for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi0_0) * 8u + (e / 128u)) < 32u && (u32(bi0_1) * 128u + (e % 128u)) < 128u) {
              wa[0u + e] = g0[0u + (u32(bi0_0) * 8u + (e / 128u)) * 128u + (u32(bi0_1) * 128u + (e % 128u)) * 1u];
            }
            else {
              wa[0u + e] = 0u;
            }
          }
        }
        workgroupBarrier();
      }
      v3 = 0i;
      nb1_0 = pt0;
      if (!(nb1_0 >= 0i && nb1_0 < 4i)) { fault(3u); }
      nb1_1 = v3;
      if (!(nb1_1 >= 0i && nb1_1 < 1i)) { fault(4u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0 || nb1_1 != bi1_1);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        if (have1) {
          for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi1_0) * 8u + (e / 128u)) < 32u && (u32(bi1_1) * 128u + (e % 128u)) < 128u) {
                g1[0u + (u32(bi1_0) * 8u + (e / 128u)) * 128u + (u32(bi1_1) * 128u + (e % 128u)) * 1u] = wa[1024u + e];
              }
            }
          }
          workgroupBarrier();
        }
        bi1_0 = nb1_0;
        bi1_1 = nb1_1;
        have1 = true;
        workgroupBarrier();
      }
      {
        let e = lid;
        if (e < 8u) {
          let lb = 0u + e * 128u;
          var cs_3: f32 = 0.0f;
          for (var j0 = 0u; j0 < 128u; j0 = j0 + 8u) {
            { let j = lb + (j0 + 0u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 1u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 2u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 3u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 4u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 5u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 6u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
            { let j = lb + (j0 + 7u) * 1u;
            cs_3 = (cs_3 + bitcast<f32>(wa[0u + j]));
            wa[2048u + j] = bitcast<u32>(cs_3); }
          }
        }
      }
      workgroupBarrier();
      for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          wa[(1024u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(bitcast<f32>(wa[2048u + e]));
        }
      }
      workgroupBarrier();
    }
  }
  if (have1) {
    for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi1_0) * 8u + (e / 128u)) < 32u && (u32(bi1_1) * 128u + (e % 128u)) < 128u) {
          g1[0u + (u32(bi1_0) * 8u + (e / 128u)) * 128u + (u32(bi1_1) * 128u + (e % 128u)) * 1u] = wa[1024u + e];
        }
      }
    }
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(5u); }
}
