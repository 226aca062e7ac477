// kernel `matmul`: general, grid [2, 2, 4] (2 parallel dims over workgroups), 65536 area words per workgroup in a global buffer

// x (f32, 65536 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// y (f32, 65536 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// o (f32, 65536 words)
@group(0) @binding(2) var<storage, read_write> g2: array<u32>;
@group(0) @binding(3) var<storage, read_write> la: array<u32>;
@group(0) @binding(4) var<storage, read_write> err: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> la4: array<vec4<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 65536u;
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
      if (!(nb0_0 >= 0i && nb0_0 < 2i)) { fault(1u); }
      nb0_1 = pt2;
      if (!(nb0_1 >= 0i && nb0_1 < 4i)) { fault(2u); }
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
      if (!(nb1_0 >= 0i && nb1_0 < 4i)) { fault(3u); }
      nb1_1 = pt1;
      if (!(nb1_1 >= 0i && nb1_1 < 2i)) { fault(4u); }
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
      if (!(nb2_0 >= 0i && nb2_0 < 2i)) { fault(5u); }
      nb2_1 = pt1;
      if (!(nb2_1 >= 0i && nb2_1 < 2i)) { fault(6u); }
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
      {
        let e = lid;
        if (e < 256u) {
          let i0 = (e / 16u) * 8u;
          let j0 = (e % 16u) * 8u;
          var c00: f32 = 0.0f;
          var c01: f32 = 0.0f;
          var c02: f32 = 0.0f;
          var c03: f32 = 0.0f;
          var c04: f32 = 0.0f;
          var c05: f32 = 0.0f;
          var c06: f32 = 0.0f;
          var c07: f32 = 0.0f;
          var c10: f32 = 0.0f;
          var c11: f32 = 0.0f;
          var c12: f32 = 0.0f;
          var c13: f32 = 0.0f;
          var c14: f32 = 0.0f;
          var c15: f32 = 0.0f;
          var c16: f32 = 0.0f;
          var c17: f32 = 0.0f;
          var c20: f32 = 0.0f;
          var c21: f32 = 0.0f;
          var c22: f32 = 0.0f;
          var c23: f32 = 0.0f;
          var c24: f32 = 0.0f;
          var c25: f32 = 0.0f;
          var c26: f32 = 0.0f;
          var c27: f32 = 0.0f;
          var c30: f32 = 0.0f;
          var c31: f32 = 0.0f;
          var c32: f32 = 0.0f;
          var c33: f32 = 0.0f;
          var c34: f32 = 0.0f;
          var c35: f32 = 0.0f;
          var c36: f32 = 0.0f;
          var c37: f32 = 0.0f;
          var c40: f32 = 0.0f;
          var c41: f32 = 0.0f;
          var c42: f32 = 0.0f;
          var c43: f32 = 0.0f;
          var c44: f32 = 0.0f;
          var c45: f32 = 0.0f;
          var c46: f32 = 0.0f;
          var c47: f32 = 0.0f;
          var c50: f32 = 0.0f;
          var c51: f32 = 0.0f;
          var c52: f32 = 0.0f;
          var c53: f32 = 0.0f;
          var c54: f32 = 0.0f;
          var c55: f32 = 0.0f;
          var c56: f32 = 0.0f;
          var c57: f32 = 0.0f;
          var c60: f32 = 0.0f;
          var c61: f32 = 0.0f;
          var c62: f32 = 0.0f;
          var c63: f32 = 0.0f;
          var c64: f32 = 0.0f;
          var c65: f32 = 0.0f;
          var c66: f32 = 0.0f;
          var c67: f32 = 0.0f;
          var c70: f32 = 0.0f;
          var c71: f32 = 0.0f;
          var c72: f32 = 0.0f;
          var c73: f32 = 0.0f;
          var c74: f32 = 0.0f;
          var c75: f32 = 0.0f;
          var c76: f32 = 0.0f;
          var c77: f32 = 0.0f;
          for (var k0 = 0u; k0 < 64u; k0 = k0 + 4u) {
            let a0 = la4[ab / 4u + 0u + (i0 + 0u) * 16u + k0 / 4u];
            let a1 = la4[ab / 4u + 0u + (i0 + 1u) * 16u + k0 / 4u];
            let a2 = la4[ab / 4u + 0u + (i0 + 2u) * 16u + k0 / 4u];
            let a3 = la4[ab / 4u + 0u + (i0 + 3u) * 16u + k0 / 4u];
            let a4 = la4[ab / 4u + 0u + (i0 + 4u) * 16u + k0 / 4u];
            let a5 = la4[ab / 4u + 0u + (i0 + 5u) * 16u + k0 / 4u];
            let a6 = la4[ab / 4u + 0u + (i0 + 6u) * 16u + k0 / 4u];
            let a7 = la4[ab / 4u + 0u + (i0 + 7u) * 16u + k0 / 4u];
            { let k = k0 + 0u;
            let b0_0 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 0u];
            let b0_1 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 1u];
            c00 = (c00 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[3u])));
            c04 = (c04 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_1[0u])));
            c05 = (c05 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_1[1u])));
            c06 = (c06 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_1[2u])));
            c07 = (c07 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_1[3u])));
            c10 = (c10 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[3u])));
            c14 = (c14 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_1[0u])));
            c15 = (c15 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_1[1u])));
            c16 = (c16 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_1[2u])));
            c17 = (c17 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_1[3u])));
            c20 = (c20 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[3u])));
            c24 = (c24 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_1[0u])));
            c25 = (c25 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_1[1u])));
            c26 = (c26 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_1[2u])));
            c27 = (c27 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_1[3u])));
            c30 = (c30 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[3u])));
            c34 = (c34 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_1[0u])));
            c35 = (c35 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_1[1u])));
            c36 = (c36 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_1[2u])));
            c37 = (c37 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_1[3u])));
            c40 = (c40 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_0[0u])));
            c41 = (c41 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_0[1u])));
            c42 = (c42 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_0[2u])));
            c43 = (c43 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_0[3u])));
            c44 = (c44 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_1[0u])));
            c45 = (c45 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_1[1u])));
            c46 = (c46 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_1[2u])));
            c47 = (c47 + (bitcast<f32>(a4[0u]) * bitcast<f32>(b0_1[3u])));
            c50 = (c50 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_0[0u])));
            c51 = (c51 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_0[1u])));
            c52 = (c52 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_0[2u])));
            c53 = (c53 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_0[3u])));
            c54 = (c54 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_1[0u])));
            c55 = (c55 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_1[1u])));
            c56 = (c56 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_1[2u])));
            c57 = (c57 + (bitcast<f32>(a5[0u]) * bitcast<f32>(b0_1[3u])));
            c60 = (c60 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_0[0u])));
            c61 = (c61 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_0[1u])));
            c62 = (c62 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_0[2u])));
            c63 = (c63 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_0[3u])));
            c64 = (c64 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_1[0u])));
            c65 = (c65 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_1[1u])));
            c66 = (c66 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_1[2u])));
            c67 = (c67 + (bitcast<f32>(a6[0u]) * bitcast<f32>(b0_1[3u])));
            c70 = (c70 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_0[0u])));
            c71 = (c71 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_0[1u])));
            c72 = (c72 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_0[2u])));
            c73 = (c73 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_0[3u])));
            c74 = (c74 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_1[0u])));
            c75 = (c75 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_1[1u])));
            c76 = (c76 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_1[2u])));
            c77 = (c77 + (bitcast<f32>(a7[0u]) * bitcast<f32>(b0_1[3u])));
            }
            { let k = k0 + 1u;
            let b1_0 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 0u];
            let b1_1 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 1u];
            c00 = (c00 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[3u])));
            c04 = (c04 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_1[0u])));
            c05 = (c05 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_1[1u])));
            c06 = (c06 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_1[2u])));
            c07 = (c07 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_1[3u])));
            c10 = (c10 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[3u])));
            c14 = (c14 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_1[0u])));
            c15 = (c15 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_1[1u])));
            c16 = (c16 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_1[2u])));
            c17 = (c17 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_1[3u])));
            c20 = (c20 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[3u])));
            c24 = (c24 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_1[0u])));
            c25 = (c25 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_1[1u])));
            c26 = (c26 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_1[2u])));
            c27 = (c27 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_1[3u])));
            c30 = (c30 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[3u])));
            c34 = (c34 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_1[0u])));
            c35 = (c35 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_1[1u])));
            c36 = (c36 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_1[2u])));
            c37 = (c37 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_1[3u])));
            c40 = (c40 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_0[0u])));
            c41 = (c41 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_0[1u])));
            c42 = (c42 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_0[2u])));
            c43 = (c43 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_0[3u])));
            c44 = (c44 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_1[0u])));
            c45 = (c45 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_1[1u])));
            c46 = (c46 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_1[2u])));
            c47 = (c47 + (bitcast<f32>(a4[1u]) * bitcast<f32>(b1_1[3u])));
            c50 = (c50 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_0[0u])));
            c51 = (c51 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_0[1u])));
            c52 = (c52 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_0[2u])));
            c53 = (c53 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_0[3u])));
            c54 = (c54 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_1[0u])));
            c55 = (c55 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_1[1u])));
            c56 = (c56 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_1[2u])));
            c57 = (c57 + (bitcast<f32>(a5[1u]) * bitcast<f32>(b1_1[3u])));
            c60 = (c60 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_0[0u])));
            c61 = (c61 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_0[1u])));
            c62 = (c62 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_0[2u])));
            c63 = (c63 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_0[3u])));
            c64 = (c64 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_1[0u])));
            c65 = (c65 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_1[1u])));
            c66 = (c66 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_1[2u])));
            c67 = (c67 + (bitcast<f32>(a6[1u]) * bitcast<f32>(b1_1[3u])));
            c70 = (c70 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_0[0u])));
            c71 = (c71 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_0[1u])));
            c72 = (c72 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_0[2u])));
            c73 = (c73 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_0[3u])));
            c74 = (c74 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_1[0u])));
            c75 = (c75 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_1[1u])));
            c76 = (c76 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_1[2u])));
            c77 = (c77 + (bitcast<f32>(a7[1u]) * bitcast<f32>(b1_1[3u])));
            }
            { let k = k0 + 2u;
            let b2_0 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 0u];
            let b2_1 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 1u];
            c00 = (c00 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[3u])));
            c04 = (c04 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_1[0u])));
            c05 = (c05 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_1[1u])));
            c06 = (c06 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_1[2u])));
            c07 = (c07 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_1[3u])));
            c10 = (c10 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[3u])));
            c14 = (c14 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_1[0u])));
            c15 = (c15 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_1[1u])));
            c16 = (c16 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_1[2u])));
            c17 = (c17 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_1[3u])));
            c20 = (c20 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[3u])));
            c24 = (c24 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_1[0u])));
            c25 = (c25 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_1[1u])));
            c26 = (c26 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_1[2u])));
            c27 = (c27 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_1[3u])));
            c30 = (c30 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[3u])));
            c34 = (c34 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_1[0u])));
            c35 = (c35 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_1[1u])));
            c36 = (c36 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_1[2u])));
            c37 = (c37 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_1[3u])));
            c40 = (c40 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_0[0u])));
            c41 = (c41 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_0[1u])));
            c42 = (c42 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_0[2u])));
            c43 = (c43 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_0[3u])));
            c44 = (c44 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_1[0u])));
            c45 = (c45 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_1[1u])));
            c46 = (c46 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_1[2u])));
            c47 = (c47 + (bitcast<f32>(a4[2u]) * bitcast<f32>(b2_1[3u])));
            c50 = (c50 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_0[0u])));
            c51 = (c51 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_0[1u])));
            c52 = (c52 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_0[2u])));
            c53 = (c53 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_0[3u])));
            c54 = (c54 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_1[0u])));
            c55 = (c55 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_1[1u])));
            c56 = (c56 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_1[2u])));
            c57 = (c57 + (bitcast<f32>(a5[2u]) * bitcast<f32>(b2_1[3u])));
            c60 = (c60 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_0[0u])));
            c61 = (c61 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_0[1u])));
            c62 = (c62 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_0[2u])));
            c63 = (c63 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_0[3u])));
            c64 = (c64 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_1[0u])));
            c65 = (c65 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_1[1u])));
            c66 = (c66 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_1[2u])));
            c67 = (c67 + (bitcast<f32>(a6[2u]) * bitcast<f32>(b2_1[3u])));
            c70 = (c70 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_0[0u])));
            c71 = (c71 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_0[1u])));
            c72 = (c72 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_0[2u])));
            c73 = (c73 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_0[3u])));
            c74 = (c74 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_1[0u])));
            c75 = (c75 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_1[1u])));
            c76 = (c76 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_1[2u])));
            c77 = (c77 + (bitcast<f32>(a7[2u]) * bitcast<f32>(b2_1[3u])));
            }
            { let k = k0 + 3u;
            let b3_0 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 0u];
            let b3_1 = la4[ab / 4u + 2048u + k * 32u + j0 / 4u + 1u];
            c00 = (c00 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[3u])));
            c04 = (c04 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_1[0u])));
            c05 = (c05 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_1[1u])));
            c06 = (c06 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_1[2u])));
            c07 = (c07 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_1[3u])));
            c10 = (c10 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[3u])));
            c14 = (c14 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_1[0u])));
            c15 = (c15 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_1[1u])));
            c16 = (c16 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_1[2u])));
            c17 = (c17 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_1[3u])));
            c20 = (c20 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[3u])));
            c24 = (c24 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_1[0u])));
            c25 = (c25 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_1[1u])));
            c26 = (c26 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_1[2u])));
            c27 = (c27 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_1[3u])));
            c30 = (c30 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[3u])));
            c34 = (c34 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_1[0u])));
            c35 = (c35 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_1[1u])));
            c36 = (c36 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_1[2u])));
            c37 = (c37 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_1[3u])));
            c40 = (c40 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_0[0u])));
            c41 = (c41 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_0[1u])));
            c42 = (c42 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_0[2u])));
            c43 = (c43 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_0[3u])));
            c44 = (c44 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_1[0u])));
            c45 = (c45 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_1[1u])));
            c46 = (c46 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_1[2u])));
            c47 = (c47 + (bitcast<f32>(a4[3u]) * bitcast<f32>(b3_1[3u])));
            c50 = (c50 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_0[0u])));
            c51 = (c51 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_0[1u])));
            c52 = (c52 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_0[2u])));
            c53 = (c53 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_0[3u])));
            c54 = (c54 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_1[0u])));
            c55 = (c55 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_1[1u])));
            c56 = (c56 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_1[2u])));
            c57 = (c57 + (bitcast<f32>(a5[3u]) * bitcast<f32>(b3_1[3u])));
            c60 = (c60 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_0[0u])));
            c61 = (c61 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_0[1u])));
            c62 = (c62 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_0[2u])));
            c63 = (c63 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_0[3u])));
            c64 = (c64 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_1[0u])));
            c65 = (c65 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_1[1u])));
            c66 = (c66 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_1[2u])));
            c67 = (c67 + (bitcast<f32>(a6[3u]) * bitcast<f32>(b3_1[3u])));
            c70 = (c70 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_0[0u])));
            c71 = (c71 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_0[1u])));
            c72 = (c72 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_0[2u])));
            c73 = (c73 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_0[3u])));
            c74 = (c74 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_1[0u])));
            c75 = (c75 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_1[1u])));
            c76 = (c76 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_1[2u])));
            c77 = (c77 + (bitcast<f32>(a7[3u]) * bitcast<f32>(b3_1[3u])));
            }
          }
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 0u] = bitcast<u32>(c00);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 1u] = bitcast<u32>(c01);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 2u] = bitcast<u32>(c02);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 3u] = bitcast<u32>(c03);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 4u] = bitcast<u32>(c04);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 5u] = bitcast<u32>(c05);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 6u] = bitcast<u32>(c06);
          la[ab + 49152u + (i0 + 0u) * 128u + j0 + 7u] = bitcast<u32>(c07);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 0u] = bitcast<u32>(c10);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 1u] = bitcast<u32>(c11);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 2u] = bitcast<u32>(c12);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 3u] = bitcast<u32>(c13);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 4u] = bitcast<u32>(c14);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 5u] = bitcast<u32>(c15);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 6u] = bitcast<u32>(c16);
          la[ab + 49152u + (i0 + 1u) * 128u + j0 + 7u] = bitcast<u32>(c17);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 0u] = bitcast<u32>(c20);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 1u] = bitcast<u32>(c21);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 2u] = bitcast<u32>(c22);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 3u] = bitcast<u32>(c23);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 4u] = bitcast<u32>(c24);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 5u] = bitcast<u32>(c25);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 6u] = bitcast<u32>(c26);
          la[ab + 49152u + (i0 + 2u) * 128u + j0 + 7u] = bitcast<u32>(c27);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 0u] = bitcast<u32>(c30);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 1u] = bitcast<u32>(c31);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 2u] = bitcast<u32>(c32);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 3u] = bitcast<u32>(c33);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 4u] = bitcast<u32>(c34);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 5u] = bitcast<u32>(c35);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 6u] = bitcast<u32>(c36);
          la[ab + 49152u + (i0 + 3u) * 128u + j0 + 7u] = bitcast<u32>(c37);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 0u] = bitcast<u32>(c40);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 1u] = bitcast<u32>(c41);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 2u] = bitcast<u32>(c42);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 3u] = bitcast<u32>(c43);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 4u] = bitcast<u32>(c44);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 5u] = bitcast<u32>(c45);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 6u] = bitcast<u32>(c46);
          la[ab + 49152u + (i0 + 4u) * 128u + j0 + 7u] = bitcast<u32>(c47);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 0u] = bitcast<u32>(c50);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 1u] = bitcast<u32>(c51);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 2u] = bitcast<u32>(c52);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 3u] = bitcast<u32>(c53);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 4u] = bitcast<u32>(c54);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 5u] = bitcast<u32>(c55);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 6u] = bitcast<u32>(c56);
          la[ab + 49152u + (i0 + 5u) * 128u + j0 + 7u] = bitcast<u32>(c57);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 0u] = bitcast<u32>(c60);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 1u] = bitcast<u32>(c61);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 2u] = bitcast<u32>(c62);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 3u] = bitcast<u32>(c63);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 4u] = bitcast<u32>(c64);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 5u] = bitcast<u32>(c65);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 6u] = bitcast<u32>(c66);
          la[ab + 49152u + (i0 + 6u) * 128u + j0 + 7u] = bitcast<u32>(c67);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 0u] = bitcast<u32>(c70);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 1u] = bitcast<u32>(c71);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 2u] = bitcast<u32>(c72);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 3u] = bitcast<u32>(c73);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 4u] = bitcast<u32>(c74);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 5u] = bitcast<u32>(c75);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 6u] = bitcast<u32>(c76);
          la[ab + 49152u + (i0 + 7u) * 128u + j0 + 7u] = bitcast<u32>(c77);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 16384u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)]) + bitcast<f32>(la[ab + 49152u + e])));
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
            la[ab + (16384u + (e / 128u) * 128u + (e % 128u) * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + (32768u + (e / 128u) * 128u + (e % 128u) * 1u)]));
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
  if (probe != probe_trips) { fault(7u); }
}
