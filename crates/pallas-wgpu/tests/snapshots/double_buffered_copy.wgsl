// kernel `double_buffered_copy`: general, grid [] (0 parallel dims over workgroups), 12288 area words per workgroup in a global buffer

// x (f32, 8192 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// o (f32, 8192 words)
@group(0) @binding(1) var<storage, read_write> g1: array<u32>;
@group(0) @binding(2) var<storage, read_write> la: array<u32>;
@group(0) @binding(3) var<storage, read_write> err: array<atomic<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 2>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }
fn rem_i32(a: i32, b: i32) -> i32 { if (b == 0i) { return a; } if (b == -1i) { return 0i; } return a % b; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 12288u;
  var have0: bool = false;
  var bi0_0: i32 = 0i;
  var nb0_0: i32 = 0i;
  var bi0_1: i32 = 0i;
  var nb0_1: i32 = 0i;
  var v4: i32;
  var v5: i32;
  var v6: i32;
  var v7: i32;
  var v8: i32;
  var v9: i32;
  var v10: i32;
  var v11: i32;
  var v12: i32;
  var v13: bool;
  var v14: i32;
  var v15: i32;
  var v16: i32;
  var v17: i32;
  var v19: f32;
  var v21: i32;
  var v22: i32;
  for (var pp = w; pp < 1u; pp = pp + 1u) {
    for (var ai = 0u; ai < 1u; ai = ai + 1u) {
      nb0_0 = 0i;
      if (!(nb0_0 >= 0i && nb0_0 < 1i)) { fault(1u); }
      nb0_1 = 0i;
      if (!(nb0_1 >= 0i && nb0_1 < 1i)) { fault(2u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have0 || nb0_0 != bi0_0 || nb0_1 != bi0_1);
      }
      let u_1 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_1) {
        if (have0) {
          for (var e0 = 0u; e0 < 8192u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi0_0) * 64u + (e / 128u)) < 64u && (u32(bi0_1) * 128u + (e % 128u)) < 128u) {
                g1[0u + (u32(bi0_0) * 64u + (e / 128u)) * 128u + (u32(bi0_1) * 128u + (e % 128u)) * 1u] = la[ab + 0u + e];
              }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }
        bi0_0 = nb0_0;
        bi0_1 = nb0_1;
        have0 = true;
        storageBarrier();
        workgroupBarrier();
      }
      v4 = 0i;
      var o_2: u32 = 0u;
      if (v4 >= 0i && v4 <= 48i) {
        o_2 = u32(v4);
      }
      else {
        fault(3u);
      }
      var o_3: u32 = 0u;
      if (v4 >= 0i && v4 <= 1i) {
        o_3 = u32(v4);
      }
      else {
        fault(4u);
      }
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (8192u + o_3 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)] = g0[(0u + o_2 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)];
        }
      }
      storageBarrier();
      workgroupBarrier();
      sems[0u] = sems[0u] + 8192i;
      v5 = 0i;
      v6 = 4i;
      if (lid == 0u) {
        ub = bitcast<u32>(v5);
      }
      let u_4 = bitcast<i32>(workgroupUniformLoad(&ub));
      workgroupBarrier();
      if (lid == 0u) {
        ub = bitcast<u32>(v6);
      }
      let u_5 = bitcast<i32>(workgroupUniformLoad(&ub));
      workgroupBarrier();
      let n_6 = select(0u, (bitcast<u32>(u_5 - u_4) - 1u) / 1u + 1u, u_5 > u_4);
      for (var t_7 = 0u; t_7 < n_6; t_7 = t_7 + 4u) {
        v7 = u_4 + bitcast<i32>((t_7 + 0u) * 1u);
        v8 = 2i;
        v9 = rem_i32(v7, v8);
        v10 = 1i;
        v11 = (v7 + v10);
        v12 = 4i;
        v13 = (v11 < v12);
        if (lid == 0u) {
          ub = select(0u, 1u, v13);
        }
        let u_8 = (workgroupUniformLoad(&ub) != 0u);
        workgroupBarrier();
        if (u_8) {
          v14 = 1i;
          v15 = (v14 - v9);
          v16 = 16i;
          v17 = (v11 * v16);
          var o_9: u32 = 0u;
          if (v17 >= 0i && v17 <= 48i) {
            o_9 = u32(v17);
          }
          else {
            fault(5u);
          }
          var o_10: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_10 = u32(v15);
          }
          else {
            fault(6u);
          }
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              la[ab + (8192u + o_10 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)] = g0[(0u + o_9 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)];
            }
          }
          storageBarrier();
          workgroupBarrier();
          var o_11: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_11 = u32(v15);
          }
          else {
            fault(7u);
          }
          sems[0u + o_11 * 1u] = sems[0u + o_11 * 1u] + 8192i;
        }
        else {
        }
        var o_12: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_12 = u32(v9);
        }
        else {
          fault(8u);
        }
        var o_13: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_13 = u32(v9);
        }
        else {
          fault(9u);
        }
        if (sems[0u + o_13 * 1u] < 8192i) {
          fault(10u);
        }
        sems[0u + o_13 * 1u] = sems[0u + o_13 * 1u] - 8192i;
        var o_14: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_14 = u32(v9);
        }
        else {
          fault(11u);
        }
        v19 = 2.0f;
        v21 = 16i;
        v22 = (v7 * v21);
        var o_15: u32 = 0u;
        if (v22 >= 0i && v22 <= 48i) {
          o_15 = u32(v22);
        }
        else {
          fault(12u);
        }
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (0u + o_15 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + (8192u + o_14 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)]) * v19));
          }
        }
        storageBarrier();
        workgroupBarrier();
        storageBarrier();
        workgroupBarrier();
        v7 = u_4 + bitcast<i32>((t_7 + 1u) * 1u);
        v8 = 2i;
        v9 = rem_i32(v7, v8);
        v10 = 1i;
        v11 = (v7 + v10);
        v12 = 4i;
        v13 = (v11 < v12);
        if (lid == 0u) {
          ub = select(0u, 1u, v13);
        }
        let u_16 = (workgroupUniformLoad(&ub) != 0u);
        workgroupBarrier();
        if (u_16) {
          v14 = 1i;
          v15 = (v14 - v9);
          v16 = 16i;
          v17 = (v11 * v16);
          var o_17: u32 = 0u;
          if (v17 >= 0i && v17 <= 48i) {
            o_17 = u32(v17);
          }
          else {
            fault(13u);
          }
          var o_18: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_18 = u32(v15);
          }
          else {
            fault(14u);
          }
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              la[ab + (8192u + o_18 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)] = g0[(0u + o_17 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)];
            }
          }
          storageBarrier();
          workgroupBarrier();
          var o_19: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_19 = u32(v15);
          }
          else {
            fault(15u);
          }
          sems[0u + o_19 * 1u] = sems[0u + o_19 * 1u] + 8192i;
        }
        else {
        }
        var o_20: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_20 = u32(v9);
        }
        else {
          fault(16u);
        }
        var o_21: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_21 = u32(v9);
        }
        else {
          fault(17u);
        }
        if (sems[0u + o_21 * 1u] < 8192i) {
          fault(18u);
        }
        sems[0u + o_21 * 1u] = sems[0u + o_21 * 1u] - 8192i;
        var o_22: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_22 = u32(v9);
        }
        else {
          fault(19u);
        }
        v19 = 2.0f;
        v21 = 16i;
        v22 = (v7 * v21);
        var o_23: u32 = 0u;
        if (v22 >= 0i && v22 <= 48i) {
          o_23 = u32(v22);
        }
        else {
          fault(20u);
        }
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (0u + o_23 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + (8192u + o_22 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)]) * v19));
          }
        }
        storageBarrier();
        workgroupBarrier();
        storageBarrier();
        workgroupBarrier();
        v7 = u_4 + bitcast<i32>((t_7 + 2u) * 1u);
        v8 = 2i;
        v9 = rem_i32(v7, v8);
        v10 = 1i;
        v11 = (v7 + v10);
        v12 = 4i;
        v13 = (v11 < v12);
        if (lid == 0u) {
          ub = select(0u, 1u, v13);
        }
        let u_24 = (workgroupUniformLoad(&ub) != 0u);
        workgroupBarrier();
        if (u_24) {
          v14 = 1i;
          v15 = (v14 - v9);
          v16 = 16i;
          v17 = (v11 * v16);
          var o_25: u32 = 0u;
          if (v17 >= 0i && v17 <= 48i) {
            o_25 = u32(v17);
          }
          else {
            fault(21u);
          }
          var o_26: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_26 = u32(v15);
          }
          else {
            fault(22u);
          }
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              la[ab + (8192u + o_26 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)] = g0[(0u + o_25 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)];
            }
          }
          storageBarrier();
          workgroupBarrier();
          var o_27: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_27 = u32(v15);
          }
          else {
            fault(23u);
          }
          sems[0u + o_27 * 1u] = sems[0u + o_27 * 1u] + 8192i;
        }
        else {
        }
        var o_28: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_28 = u32(v9);
        }
        else {
          fault(24u);
        }
        var o_29: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_29 = u32(v9);
        }
        else {
          fault(25u);
        }
        if (sems[0u + o_29 * 1u] < 8192i) {
          fault(26u);
        }
        sems[0u + o_29 * 1u] = sems[0u + o_29 * 1u] - 8192i;
        var o_30: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_30 = u32(v9);
        }
        else {
          fault(27u);
        }
        v19 = 2.0f;
        v21 = 16i;
        v22 = (v7 * v21);
        var o_31: u32 = 0u;
        if (v22 >= 0i && v22 <= 48i) {
          o_31 = u32(v22);
        }
        else {
          fault(28u);
        }
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (0u + o_31 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + (8192u + o_30 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)]) * v19));
          }
        }
        storageBarrier();
        workgroupBarrier();
        storageBarrier();
        workgroupBarrier();
        v7 = u_4 + bitcast<i32>((t_7 + 3u) * 1u);
        v8 = 2i;
        v9 = rem_i32(v7, v8);
        v10 = 1i;
        v11 = (v7 + v10);
        v12 = 4i;
        v13 = (v11 < v12);
        if (lid == 0u) {
          ub = select(0u, 1u, v13);
        }
        let u_32 = (workgroupUniformLoad(&ub) != 0u);
        workgroupBarrier();
        if (u_32) {
          v14 = 1i;
          v15 = (v14 - v9);
          v16 = 16i;
          v17 = (v11 * v16);
          var o_33: u32 = 0u;
          if (v17 >= 0i && v17 <= 48i) {
            o_33 = u32(v17);
          }
          else {
            fault(29u);
          }
          var o_34: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_34 = u32(v15);
          }
          else {
            fault(30u);
          }
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              la[ab + (8192u + o_34 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)] = g0[(0u + o_33 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)];
            }
          }
          storageBarrier();
          workgroupBarrier();
          var o_35: u32 = 0u;
          if (v15 >= 0i && v15 <= 1i) {
            o_35 = u32(v15);
          }
          else {
            fault(31u);
          }
          sems[0u + o_35 * 1u] = sems[0u + o_35 * 1u] + 8192i;
        }
        else {
        }
        var o_36: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_36 = u32(v9);
        }
        else {
          fault(32u);
        }
        var o_37: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_37 = u32(v9);
        }
        else {
          fault(33u);
        }
        if (sems[0u + o_37 * 1u] < 8192i) {
          fault(34u);
        }
        sems[0u + o_37 * 1u] = sems[0u + o_37 * 1u] - 8192i;
        var o_38: u32 = 0u;
        if (v9 >= 0i && v9 <= 1i) {
          o_38 = u32(v9);
        }
        else {
          fault(35u);
        }
        v19 = 2.0f;
        v21 = 16i;
        v22 = (v7 * v21);
        var o_39: u32 = 0u;
        if (v22 >= 0i && v22 <= 48i) {
          o_39 = u32(v22);
        }
        else {
          fault(36u);
        }
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (0u + o_39 * 128u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + (8192u + o_38 * 2048u + (e / 128u) * 128u + (e % 128u) * 1u)]) * v19));
          }
        }
        storageBarrier();
        workgroupBarrier();
        storageBarrier();
        workgroupBarrier();
      }
    }
  }
  if (have0) {
    for (var e0 = 0u; e0 < 8192u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi0_0) * 64u + (e / 128u)) < 64u && (u32(bi0_1) * 128u + (e % 128u)) < 128u) {
          g1[0u + (u32(bi0_0) * 64u + (e / 128u)) * 128u + (u32(bi0_1) * 128u + (e % 128u)) * 1u] = la[ab + 0u + e];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(37u); }
}
