// kernel `gather`: general, grid [6] (1 parallel dims over workgroups), 2048 area words in workgroup memory

// idx (i32, 6 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// table (f32, 8192 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 6144 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;
var<workgroup> wa: array<u32, 2048>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;
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
  var v2: i32;
  var v3: i32;
  var v6: i32;
  for (var pp = w; pp < 6u; pp = pp + 6u) {
    pt0 = i32((pp / 1u) % 6u);
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      var o_1: u32 = 0u;
      if (pt0 >= 0i && pt0 <= 5i) {
        o_1 = u32(pt0);
      }
      else {
        fault(1u);
      }
      v2 = bitcast<i32>(g0[(0u + o_1 * 1u)]);
      v3 = 0i;
      nb0_0 = v2;
      if (!(nb0_0 >= 0i && nb0_0 < 8i)) { fault(2u); }
      nb0_1 = v3;
      if (!(nb0_1 >= 0i && nb0_1 < 1i)) { fault(3u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have0 || nb0_0 != bi0_0 || nb0_1 != bi0_1);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      workgroupBarrier();
      if (u_2) {
        bi0_0 = nb0_0;
        bi0_1 = nb0_1;
        have0 = true;
        for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi0_0) * 8u + (e / 128u)) < 64u && (u32(bi0_1) * 128u + (e % 128u)) < 128u) {
              wa[0u + e] = g1[0u + (u32(bi0_0) * 8u + (e / 128u)) * 128u + (u32(bi0_1) * 128u + (e % 128u)) * 1u];
            }
            else {
              wa[0u + e] = 0u;
            }
          }
        }
        workgroupBarrier();
      }
      v6 = 0i;
      nb1_0 = pt0;
      if (!(nb1_0 >= 0i && nb1_0 < 6i)) { fault(4u); }
      nb1_1 = v6;
      if (!(nb1_1 >= 0i && nb1_1 < 1i)) { fault(5u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0 || nb1_1 != bi1_1);
      }
      let u_3 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_3) {
        if (have1) {
          for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi1_0) * 8u + (e / 128u)) < 48u && (u32(bi1_1) * 128u + (e % 128u)) < 128u) {
                g2[0u + (u32(bi1_0) * 8u + (e / 128u)) * 128u + (u32(bi1_1) * 128u + (e % 128u)) * 1u] = wa[1024u + e];
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
      for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          wa[(1024u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(bitcast<f32>(wa[0u + e]));
        }
      }
      workgroupBarrier();
    }
  }
  if (have1) {
    for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi1_0) * 8u + (e / 128u)) < 48u && (u32(bi1_1) * 128u + (e % 128u)) < 128u) {
          g2[0u + (u32(bi1_0) * 8u + (e / 128u)) * 128u + (u32(bi1_1) * 128u + (e % 128u)) * 1u] = wa[1024u + e];
        }
      }
    }
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(6u); }
}
