// kernel `histogram`: general, grid [8] (0 parallel dims over workgroups), 176 area words in workgroup memory

// x (i32, 1000 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// h (i32, 16 words)
@group(0) @binding(1) var<storage, read_write> g1: array<u32>;
var<workgroup> wa: array<u32, 160>;
var<workgroup> wat: array<atomic<u32>, 16>;
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
  var v3: i32;
  var v4: i32;
  var v5: bool;
  var v6: i32;
  var v7: i32;
  var v8: i32;
  var v9: i32;
  var v10: i32;
  var v11: i32;
  var v12: i32;
  var v13: i32;
  var v14: i32;
  var v15: bool;
  var v17: i32;
  var v18: i32;
  var v19: i32;
  for (var pp = w; pp < 1u; pp = pp + 1u) {
    for (var ai = 0u; ai < 8u; ai = ai + 1u) {
      pt0 = i32((ai / 1u) % 8u);
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
            if ((u32(bi0_0) * 128u + e) < 1000u) {
              wa[0u + e] = g0[0u + (u32(bi0_0) * 128u + e) * 1u];
            }
            else {
              wa[0u + e] = 0u;
            }
          }
        }
        workgroupBarrier();
      }
      nb1_0 = 0i;
      if (!(nb1_0 >= 0i && nb1_0 < 1i)) { fault(2u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        if (have1) {
          {
            let e = lid;
            if (e < 16u) {
              if ((u32(bi1_0) * 16u + e) < 16u) {
                g1[0u + (u32(bi1_0) * 16u + e) * 1u] = atomicLoad(&wat[0u + e]);
              }
            }
          }
          workgroupBarrier();
        }
        bi1_0 = nb1_0;
        have1 = true;
        workgroupBarrier();
      }
      v3 = pt0;
      v4 = 0i;
      v5 = (v3 == v4);
      if (lid == 0u) {
        ub = select(0u, 1u, v5);
      }
      let u_3 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_3) {
        v6 = 0i;
        {
          let e = lid;
          if (e < 16u) {
            atomicStore(&wat[(0u + e * 1u)], bitcast<u32>(v6));
          }
        }
        workgroupBarrier();
      }
      else {
      }
      v7 = 128i;
      v8 = (v3 * v7);
      v9 = 0i;
      v10 = 0i;
      v11 = 128i;
      if (lid == 0u) {
        ub = bitcast<u32>(v10);
      }
      let u_4 = bitcast<i32>(workgroupUniformLoad(&ub));
      workgroupBarrier();
      if (lid == 0u) {
        ub = bitcast<u32>(v11);
      }
      let u_5 = bitcast<i32>(workgroupUniformLoad(&ub));
      workgroupBarrier();
      let n_6 = select(0u, (bitcast<u32>(u_5 - u_4) - 1u) / 1u + 1u, u_5 > u_4);
      for (var t_7 = 0u; t_7 < n_6; t_7 = t_7 + 8u) {
        v12 = u_4 + bitcast<i32>((t_7 + 0u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_8: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_8 = u32(v12);
        }
        else {
          fault(3u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_8 * 1u)]), v15);
        v18 = 1i;
        var o_9: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_9 = u32(v17);
        }
        else {
          fault(4u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_10: u32 = 0u;
            if (v15) {
              old_10 = atomicAdd(&wat[(0u + o_9 * 1u)], bitcast<u32>(v18));
            }
            wa[128u + e] = old_10;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[128u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 1u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_11: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_11 = u32(v12);
        }
        else {
          fault(5u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_11 * 1u)]), v15);
        v18 = 1i;
        var o_12: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_12 = u32(v17);
        }
        else {
          fault(6u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_13: u32 = 0u;
            if (v15) {
              old_13 = atomicAdd(&wat[(0u + o_12 * 1u)], bitcast<u32>(v18));
            }
            wa[132u + e] = old_13;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[132u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 2u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_14: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_14 = u32(v12);
        }
        else {
          fault(7u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_14 * 1u)]), v15);
        v18 = 1i;
        var o_15: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_15 = u32(v17);
        }
        else {
          fault(8u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_16: u32 = 0u;
            if (v15) {
              old_16 = atomicAdd(&wat[(0u + o_15 * 1u)], bitcast<u32>(v18));
            }
            wa[136u + e] = old_16;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[136u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 3u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_17: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_17 = u32(v12);
        }
        else {
          fault(9u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_17 * 1u)]), v15);
        v18 = 1i;
        var o_18: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_18 = u32(v17);
        }
        else {
          fault(10u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_19: u32 = 0u;
            if (v15) {
              old_19 = atomicAdd(&wat[(0u + o_18 * 1u)], bitcast<u32>(v18));
            }
            wa[140u + e] = old_19;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[140u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 4u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_20: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_20 = u32(v12);
        }
        else {
          fault(11u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_20 * 1u)]), v15);
        v18 = 1i;
        var o_21: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_21 = u32(v17);
        }
        else {
          fault(12u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_22: u32 = 0u;
            if (v15) {
              old_22 = atomicAdd(&wat[(0u + o_21 * 1u)], bitcast<u32>(v18));
            }
            wa[144u + e] = old_22;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[144u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 5u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_23: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_23 = u32(v12);
        }
        else {
          fault(13u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_23 * 1u)]), v15);
        v18 = 1i;
        var o_24: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_24 = u32(v17);
        }
        else {
          fault(14u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_25: u32 = 0u;
            if (v15) {
              old_25 = atomicAdd(&wat[(0u + o_24 * 1u)], bitcast<u32>(v18));
            }
            wa[148u + e] = old_25;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[148u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 6u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_26: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_26 = u32(v12);
        }
        else {
          fault(15u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_26 * 1u)]), v15);
        v18 = 1i;
        var o_27: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_27 = u32(v17);
        }
        else {
          fault(16u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_28: u32 = 0u;
            if (v15) {
              old_28 = atomicAdd(&wat[(0u + o_27 * 1u)], bitcast<u32>(v18));
            }
            wa[152u + e] = old_28;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[152u + 0u]);
        workgroupBarrier();
        v12 = u_4 + bitcast<i32>((t_7 + 7u) * 1u);
        v13 = (v8 + v12);
        v14 = 1000i;
        v15 = (v13 < v14);
        var o_29: u32 = 0u;
        if (v12 >= 0i && v12 <= 127i) {
          o_29 = u32(v12);
        }
        else {
          fault(17u);
        }
        v17 = select(v9, bitcast<i32>(wa[(0u + o_29 * 1u)]), v15);
        v18 = 1i;
        var o_30: u32 = 0u;
        if (v17 >= 0i && v17 <= 15i) {
          o_30 = u32(v17);
        }
        else {
          fault(18u);
        }
        workgroupBarrier();
        {
          let e = lid;
          if (e < 1u) {
            var old_31: u32 = 0u;
            if (v15) {
              old_31 = atomicAdd(&wat[(0u + o_30 * 1u)], bitcast<u32>(v18));
            }
            wa[156u + e] = old_31;
          }
        }
        workgroupBarrier();
        v19 = bitcast<i32>(wa[156u + 0u]);
        workgroupBarrier();
      }
    }
  }
  if (have1) {
    {
      let e = lid;
      if (e < 16u) {
        if ((u32(bi1_0) * 16u + e) < 16u) {
          g1[0u + (u32(bi1_0) * 16u + e) * 1u] = atomicLoad(&wat[0u + e]);
        }
      }
    }
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(19u); }
}
