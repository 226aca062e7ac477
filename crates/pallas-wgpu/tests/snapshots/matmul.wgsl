// kernel `matmul`: general, grid [2, 2, 4] (2 parallel dims over workgroups), 114688 area words per workgroup in a global buffer

// x (f32, 65536 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// y (f32, 65536 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 65536 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;
@group(0) @binding(3) var<storage, read_write> la: array<u32>;
@group(0) @binding(4) var<storage, read_write> err: array<atomic<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 114688u;
  var pt0: i32 = 0i;
  var pt1: i32 = 0i;
  var pt2: i32 = 0i;
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
  var have2: bool = false;
  var bi2_0: i32 = 0i;
  var nb2_0: i32 = 0i;
  var bi2_1: i32 = 0i;
  var nb2_1: i32 = 0i;
  var v13: i32;
  var v14: i32;
  var v15: bool;
  var v16: f32;
  var v22: i32;
  var v23: bool;
  for (var pp = w; pp < 4u; pp = pp + 4u) {
    pt1 = i32((pp / 1u) % 2u);
    pt0 = i32((pp / 2u) % 2u);
    for (var ai = 0u; ai < 4u; ai = ai + 1u) {
      pt2 = i32((ai / 1u) % 4u);
      nb0_0 = pt0;
      nb0_1 = pt2;
      if (!((nb0_0 >= 0i && nb0_0 < 2i) && (nb0_1 >= 0i && nb0_1 < 4i))) { fault(1u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have0 || nb0_0 != bi0_0 || nb0_1 != bi0_1);
      }
      let u_1 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_1) {
        bi0_0 = nb0_0;
        bi0_1 = nb0_1;
        have0 = true;
        for (var e0 = 0u; e0 < 8192u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi0_0) * 128u + (e / 64u)) < 256u && (u32(bi0_1) * 64u + (e % 64u)) < 256u) {
              la[ab + 0u + e] = g0[0u + (u32(bi0_0) * 128u + (e / 64u)) * 256u + (u32(bi0_1) * 64u + (e % 64u)) * 1u];
            }
            else {
              la[ab + 0u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      nb1_0 = pt2;
      nb1_1 = pt1;
      if (!((nb1_0 >= 0i && nb1_0 < 4i) && (nb1_1 >= 0i && nb1_1 < 2i))) { fault(2u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0 || nb1_1 != bi1_1);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        bi1_0 = nb1_0;
        bi1_1 = nb1_1;
        have1 = true;
        for (var e0 = 0u; e0 < 8192u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi1_0) * 64u + (e / 128u)) < 256u && (u32(bi1_1) * 128u + (e % 128u)) < 256u) {
              la[ab + 8192u + e] = g1[0u + (u32(bi1_0) * 64u + (e / 128u)) * 256u + (u32(bi1_1) * 128u + (e % 128u)) * 1u];
            }
            else {
              la[ab + 8192u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      nb2_0 = pt0;
      nb2_1 = pt1;
      if (!((nb2_0 >= 0i && nb2_0 < 2i) && (nb2_1 >= 0i && nb2_1 < 2i))) { fault(3u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have2 || nb2_0 != bi2_0 || nb2_1 != bi2_1);
      }
      let u_3 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_3) {
        if (have2) {
          for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi2_0) * 128u + (e / 128u)) < 256u && (u32(bi2_1) * 128u + (e % 128u)) < 256u) {
                g2[0u + (u32(bi2_0) * 128u + (e / 128u)) * 256u + (u32(bi2_1) * 128u + (e % 128u)) * 1u] = la[ab + 16384u + e];
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
      v13 = pt2;
      v14 = 0i;
      v15 = (v13 == v14);
      if (lid == 0u) {
        ub = select(0u, 1u, v15);
      }
      let u_4 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_4) {
        v16 = 0.0f;
        for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(v16);
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      else {
      }
      for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 49152u + e] = bitcast<u32>(bitcast<f32>(la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 1024u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          let i0 = (e / 32u) * 4u;
          let j0 = (e % 32u) * 4u;
          var c00: f32 = 0.0f;
          var c01: f32 = 0.0f;
          var c02: f32 = 0.0f;
          var c03: f32 = 0.0f;
          var c10: f32 = 0.0f;
          var c11: f32 = 0.0f;
          var c12: f32 = 0.0f;
          var c13: f32 = 0.0f;
          var c20: f32 = 0.0f;
          var c21: f32 = 0.0f;
          var c22: f32 = 0.0f;
          var c23: f32 = 0.0f;
          var c30: f32 = 0.0f;
          var c31: f32 = 0.0f;
          var c32: f32 = 0.0f;
          var c33: f32 = 0.0f;
          for (var k0 = 0u; k0 < 64u; k0 = k0 + 4u) {
            { let k = k0 + 0u;
            let a0 = bitcast<f32>(la[ab + 0u + ((i0 + 0u) * 64u + k)]);
            let a1 = bitcast<f32>(la[ab + 0u + ((i0 + 1u) * 64u + k)]);
            let a2 = bitcast<f32>(la[ab + 0u + ((i0 + 2u) * 64u + k)]);
            let a3 = bitcast<f32>(la[ab + 0u + ((i0 + 3u) * 64u + k)]);
            let b0 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 0u)]);
            let b1 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 1u)]);
            let b2 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 2u)]);
            let b3 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 3u)]);
            c00 = (c00 + (a0 * b0));
            c01 = (c01 + (a0 * b1));
            c02 = (c02 + (a0 * b2));
            c03 = (c03 + (a0 * b3));
            c10 = (c10 + (a1 * b0));
            c11 = (c11 + (a1 * b1));
            c12 = (c12 + (a1 * b2));
            c13 = (c13 + (a1 * b3));
            c20 = (c20 + (a2 * b0));
            c21 = (c21 + (a2 * b1));
            c22 = (c22 + (a2 * b2));
            c23 = (c23 + (a2 * b3));
            c30 = (c30 + (a3 * b0));
            c31 = (c31 + (a3 * b1));
            c32 = (c32 + (a3 * b2));
            c33 = (c33 + (a3 * b3));
            }
            { let k = k0 + 1u;
            let a0 = bitcast<f32>(la[ab + 0u + ((i0 + 0u) * 64u + k)]);
            let a1 = bitcast<f32>(la[ab + 0u + ((i0 + 1u) * 64u + k)]);
            let a2 = bitcast<f32>(la[ab + 0u + ((i0 + 2u) * 64u + k)]);
            let a3 = bitcast<f32>(la[ab + 0u + ((i0 + 3u) * 64u + k)]);
            let b0 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 0u)]);
            let b1 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 1u)]);
            let b2 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 2u)]);
            let b3 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 3u)]);
            c00 = (c00 + (a0 * b0));
            c01 = (c01 + (a0 * b1));
            c02 = (c02 + (a0 * b2));
            c03 = (c03 + (a0 * b3));
            c10 = (c10 + (a1 * b0));
            c11 = (c11 + (a1 * b1));
            c12 = (c12 + (a1 * b2));
            c13 = (c13 + (a1 * b3));
            c20 = (c20 + (a2 * b0));
            c21 = (c21 + (a2 * b1));
            c22 = (c22 + (a2 * b2));
            c23 = (c23 + (a2 * b3));
            c30 = (c30 + (a3 * b0));
            c31 = (c31 + (a3 * b1));
            c32 = (c32 + (a3 * b2));
            c33 = (c33 + (a3 * b3));
            }
            { let k = k0 + 2u;
            let a0 = bitcast<f32>(la[ab + 0u + ((i0 + 0u) * 64u + k)]);
            let a1 = bitcast<f32>(la[ab + 0u + ((i0 + 1u) * 64u + k)]);
            let a2 = bitcast<f32>(la[ab + 0u + ((i0 + 2u) * 64u + k)]);
            let a3 = bitcast<f32>(la[ab + 0u + ((i0 + 3u) * 64u + k)]);
            let b0 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 0u)]);
            let b1 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 1u)]);
            let b2 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 2u)]);
            let b3 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 3u)]);
            c00 = (c00 + (a0 * b0));
            c01 = (c01 + (a0 * b1));
            c02 = (c02 + (a0 * b2));
            c03 = (c03 + (a0 * b3));
            c10 = (c10 + (a1 * b0));
            c11 = (c11 + (a1 * b1));
            c12 = (c12 + (a1 * b2));
            c13 = (c13 + (a1 * b3));
            c20 = (c20 + (a2 * b0));
            c21 = (c21 + (a2 * b1));
            c22 = (c22 + (a2 * b2));
            c23 = (c23 + (a2 * b3));
            c30 = (c30 + (a3 * b0));
            c31 = (c31 + (a3 * b1));
            c32 = (c32 + (a3 * b2));
            c33 = (c33 + (a3 * b3));
            }
            { let k = k0 + 3u;
            let a0 = bitcast<f32>(la[ab + 0u + ((i0 + 0u) * 64u + k)]);
            let a1 = bitcast<f32>(la[ab + 0u + ((i0 + 1u) * 64u + k)]);
            let a2 = bitcast<f32>(la[ab + 0u + ((i0 + 2u) * 64u + k)]);
            let a3 = bitcast<f32>(la[ab + 0u + ((i0 + 3u) * 64u + k)]);
            let b0 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 0u)]);
            let b1 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 1u)]);
            let b2 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 2u)]);
            let b3 = bitcast<f32>(la[ab + 8192u + (k * 128u + j0 + 3u)]);
            c00 = (c00 + (a0 * b0));
            c01 = (c01 + (a0 * b1));
            c02 = (c02 + (a0 * b2));
            c03 = (c03 + (a0 * b3));
            c10 = (c10 + (a1 * b0));
            c11 = (c11 + (a1 * b1));
            c12 = (c12 + (a1 * b2));
            c13 = (c13 + (a1 * b3));
            c20 = (c20 + (a2 * b0));
            c21 = (c21 + (a2 * b1));
            c22 = (c22 + (a2 * b2));
            c23 = (c23 + (a2 * b3));
            c30 = (c30 + (a3 * b0));
            c31 = (c31 + (a3 * b1));
            c32 = (c32 + (a3 * b2));
            c33 = (c33 + (a3 * b3));
            }
          }
          la[ab + 65536u + (i0 + 0u) * 128u + j0 + 0u] = bitcast<u32>(c00);
          la[ab + 65536u + (i0 + 0u) * 128u + j0 + 1u] = bitcast<u32>(c01);
          la[ab + 65536u + (i0 + 0u) * 128u + j0 + 2u] = bitcast<u32>(c02);
          la[ab + 65536u + (i0 + 0u) * 128u + j0 + 3u] = bitcast<u32>(c03);
          la[ab + 65536u + (i0 + 1u) * 128u + j0 + 0u] = bitcast<u32>(c10);
          la[ab + 65536u + (i0 + 1u) * 128u + j0 + 1u] = bitcast<u32>(c11);
          la[ab + 65536u + (i0 + 1u) * 128u + j0 + 2u] = bitcast<u32>(c12);
          la[ab + 65536u + (i0 + 1u) * 128u + j0 + 3u] = bitcast<u32>(c13);
          la[ab + 65536u + (i0 + 2u) * 128u + j0 + 0u] = bitcast<u32>(c20);
          la[ab + 65536u + (i0 + 2u) * 128u + j0 + 1u] = bitcast<u32>(c21);
          la[ab + 65536u + (i0 + 2u) * 128u + j0 + 2u] = bitcast<u32>(c22);
          la[ab + 65536u + (i0 + 2u) * 128u + j0 + 3u] = bitcast<u32>(c23);
          la[ab + 65536u + (i0 + 3u) * 128u + j0 + 0u] = bitcast<u32>(c30);
          la[ab + 65536u + (i0 + 3u) * 128u + j0 + 1u] = bitcast<u32>(c31);
          la[ab + 65536u + (i0 + 3u) * 128u + j0 + 2u] = bitcast<u32>(c32);
          la[ab + 65536u + (i0 + 3u) * 128u + j0 + 3u] = bitcast<u32>(c33);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 81920u + e] = bitcast<u32>((bitcast<f32>(la[ab + 49152u + e]) + bitcast<f32>(la[ab + 65536u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 81920u + e]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      v22 = 3i;
      v23 = (v13 == v22);
      if (lid == 0u) {
        ub = select(0u, 1u, v23);
      }
      let u_5 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_5) {
        for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + 98304u + e] = bitcast<u32>(bitcast<f32>(la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)]));
          }
        }
        storageBarrier();
        workgroupBarrier();
        for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (16384u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 98304u + e]));
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      else {
      }
    }
  }
  if (have2) {
    for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi2_0) * 128u + (e / 128u)) < 256u && (u32(bi2_1) * 128u + (e % 128u)) < 256u) {
          g2[0u + (u32(bi2_0) * 128u + (e / 128u)) * 256u + (u32(bi2_1) * 128u + (e % 128u)) * 1u] = la[ab + 16384u + e];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(4u); }
}
