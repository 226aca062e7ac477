// kernel `flash_attention`: general, grid [4, 4] (1 parallel dims over workgroups), 25344 area words per workgroup in a global buffer

// q (f32, 8192 words)
@group(0) @binding(0) var<storage, read> g0: array<u32>;
// k (f32, 16384 words)
@group(0) @binding(1) var<storage, read> g1: array<u32>;
// v (f32, 16384 words)
@group(0) @binding(2) var<storage, read> g2: array<u32>;
// o (f32, 8192 words)
@group(0) @binding(3) var<storage, read_write> g3: array<u32>;
@group(0) @binding(4) var<storage, read_write> la: array<u32>;
@group(0) @binding(5) var<storage, read_write> err: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> la4: array<vec4<u32>>;
var<workgroup> ub: u32;
var<private> sems: array<i32, 1>;

fn fault(c: u32) { atomicOr(&err[1u + c / 32u], 1u << (c % 32u)); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return bitcast<f32>(0x7fc00000u); } return max(a, b); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x;
  let ab = w * 25344u;
  var pt0: i32 = 0i;
  var pt1: i32 = 0i;
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
  var have3: bool = false;
  var bi3_0: i32 = 0i;
  var nb3_0: i32 = 0i;
  var bi3_1: i32 = 0i;
  var nb3_1: i32 = 0i;
  var v2: i32;
  var v5: i32;
  var v8: i32;
  var v11: i32;
  var v19: i32;
  var v20: i32;
  var v21: bool;
  var v22: f32;
  var v23: f32;
  var v24: f32;
  var v29: f32;
  var total_7: f32;
  var total_9: f32;
  var v48: i32;
  var v49: bool;
  for (var pp = w; pp < 4u; pp = pp + 4u) {
    pt0 = i32((pp / 1u) % 4u);
    for (var ai = 0u; ai < 4u; ai = ai + 1u) {
      pt1 = i32((ai / 1u) % 4u);
      v2 = 0i;
      nb0_0 = pt0;
      if (!(nb0_0 >= 0i && nb0_0 < 4i)) { fault(1u); }
      nb0_1 = v2;
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
            if ((u32(bi0_0) * 32u + (e / 64u)) < 128u && (u32(bi0_1) * 64u + (e % 64u)) < 64u) {
              la[ab + 0u + e] = g0[0u + (u32(bi0_0) * 32u + (e / 64u)) * 64u + (u32(bi0_1) * 64u + (e % 64u)) * 1u];
            }
            else {
              la[ab + 0u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      v5 = 0i;
      nb1_0 = pt1;
      if (!(nb1_0 >= 0i && nb1_0 < 4i)) { fault(3u); }
      nb1_1 = v5;
      if (!(nb1_1 >= 0i && nb1_1 < 1i)) { fault(4u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have1 || nb1_0 != bi1_0 || nb1_1 != bi1_1);
      }
      let u_2 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_2) {
        bi1_0 = nb1_0;
        bi1_1 = nb1_1;
        have1 = true;
        for (var e0 = 0u; e0 < 4096u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi1_0) * 64u + (e / 64u)) < 256u && (u32(bi1_1) * 64u + (e % 64u)) < 64u) {
              la[ab + 2048u + e] = g1[0u + (u32(bi1_0) * 64u + (e / 64u)) * 64u + (u32(bi1_1) * 64u + (e % 64u)) * 1u];
            }
            else {
              la[ab + 2048u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      v8 = 0i;
      nb2_0 = pt1;
      if (!(nb2_0 >= 0i && nb2_0 < 4i)) { fault(5u); }
      nb2_1 = v8;
      if (!(nb2_1 >= 0i && nb2_1 < 1i)) { fault(6u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have2 || nb2_0 != bi2_0 || nb2_1 != bi2_1);
      }
      let u_3 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_3) {
        bi2_0 = nb2_0;
        bi2_1 = nb2_1;
        have2 = true;
        for (var e0 = 0u; e0 < 4096u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            if ((u32(bi2_0) * 64u + (e / 64u)) < 256u && (u32(bi2_1) * 64u + (e % 64u)) < 64u) {
              la[ab + 6144u + e] = g2[0u + (u32(bi2_0) * 64u + (e / 64u)) * 64u + (u32(bi2_1) * 64u + (e % 64u)) * 1u];
            }
            else {
              la[ab + 6144u + e] = 0u;
            }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      v11 = 0i;
      nb3_0 = pt0;
      if (!(nb3_0 >= 0i && nb3_0 < 4i)) { fault(7u); }
      nb3_1 = v11;
      if (!(nb3_1 >= 0i && nb3_1 < 1i)) { fault(8u); }
      if (lid == 0u) {
        ub = select(0u, 1u, !have3 || nb3_0 != bi3_0 || nb3_1 != bi3_1);
      }
      let u_4 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_4) {
        if (have3) {
          for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
            let e = e0 + lid;
            {
              if ((u32(bi3_0) * 32u + (e / 64u)) < 128u && (u32(bi3_1) * 64u + (e % 64u)) < 64u) {
                g3[0u + (u32(bi3_0) * 32u + (e / 64u)) * 64u + (u32(bi3_1) * 64u + (e % 64u)) * 1u] = la[ab + 10240u + e];
              }
            }
          }
          storageBarrier();
          workgroupBarrier();
        }
        bi3_0 = nb3_0;
        bi3_1 = nb3_1;
        have3 = true;
        storageBarrier();
        workgroupBarrier();
      }
      v19 = pt1;
      v20 = 0i;
      v21 = (v19 == v20);
      if (lid == 0u) {
        ub = select(0u, 1u, v21);
      }
      let u_5 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_5) {
        v22 = bitcast<f32>(0xff800000u);
        {
          let e = lid;
          if (e < 32u) {
            la[ab + (12288u + e * 1u)] = bitcast<u32>(v22);
          }
        }
        storageBarrier();
        workgroupBarrier();
        v23 = 0.0f;
        {
          let e = lid;
          if (e < 32u) {
            la[ab + (12320u + e * 1u)] = bitcast<u32>(v23);
          }
        }
        storageBarrier();
        workgroupBarrier();
        v24 = 0.0f;
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (12352u + (e / 64u) * 64u + (e % 64u) * 1u)] = bitcast<u32>(v24);
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      else {
      }
      {
        let e = lid;
        if (e < 128u) {
          let i0 = (e / 16u) * 4u;
          let j0 = (e % 16u) * 4u;
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
            let a0 = la4[ab / 4u + 0u + (i0 + 0u) * 16u + k0 / 4u];
            let a1 = la4[ab / 4u + 0u + (i0 + 1u) * 16u + k0 / 4u];
            let a2 = la4[ab / 4u + 0u + (i0 + 2u) * 16u + k0 / 4u];
            let a3 = la4[ab / 4u + 0u + (i0 + 3u) * 16u + k0 / 4u];
            let b0 = la4[ab / 4u + 512u + (j0 + 0u) * 16u + k0 / 4u];
            let b1 = la4[ab / 4u + 512u + (j0 + 1u) * 16u + k0 / 4u];
            let b2 = la4[ab / 4u + 512u + (j0 + 2u) * 16u + k0 / 4u];
            let b3 = la4[ab / 4u + 512u + (j0 + 3u) * 16u + k0 / 4u];
            { let k = k0 + 0u;
            c00 = (c00 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b1[0u])));
            c02 = (c02 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b2[0u])));
            c03 = (c03 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b3[0u])));
            c10 = (c10 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b1[0u])));
            c12 = (c12 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b2[0u])));
            c13 = (c13 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b3[0u])));
            c20 = (c20 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b1[0u])));
            c22 = (c22 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b2[0u])));
            c23 = (c23 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b3[0u])));
            c30 = (c30 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b1[0u])));
            c32 = (c32 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b2[0u])));
            c33 = (c33 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b3[0u])));
            }
            { let k = k0 + 1u;
            c00 = (c00 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b0[1u])));
            c01 = (c01 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1[1u])));
            c02 = (c02 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b2[1u])));
            c03 = (c03 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b3[1u])));
            c10 = (c10 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b0[1u])));
            c11 = (c11 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1[1u])));
            c12 = (c12 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b2[1u])));
            c13 = (c13 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b3[1u])));
            c20 = (c20 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b0[1u])));
            c21 = (c21 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1[1u])));
            c22 = (c22 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b2[1u])));
            c23 = (c23 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b3[1u])));
            c30 = (c30 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b0[1u])));
            c31 = (c31 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1[1u])));
            c32 = (c32 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b2[1u])));
            c33 = (c33 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b3[1u])));
            }
            { let k = k0 + 2u;
            c00 = (c00 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b0[2u])));
            c01 = (c01 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b1[2u])));
            c02 = (c02 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2[2u])));
            c03 = (c03 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b3[2u])));
            c10 = (c10 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b0[2u])));
            c11 = (c11 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b1[2u])));
            c12 = (c12 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2[2u])));
            c13 = (c13 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b3[2u])));
            c20 = (c20 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b0[2u])));
            c21 = (c21 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b1[2u])));
            c22 = (c22 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2[2u])));
            c23 = (c23 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b3[2u])));
            c30 = (c30 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b0[2u])));
            c31 = (c31 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b1[2u])));
            c32 = (c32 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2[2u])));
            c33 = (c33 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b3[2u])));
            }
            { let k = k0 + 3u;
            c00 = (c00 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b0[3u])));
            c01 = (c01 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b1[3u])));
            c02 = (c02 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b2[3u])));
            c03 = (c03 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3[3u])));
            c10 = (c10 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b0[3u])));
            c11 = (c11 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b1[3u])));
            c12 = (c12 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b2[3u])));
            c13 = (c13 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3[3u])));
            c20 = (c20 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b0[3u])));
            c21 = (c21 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b1[3u])));
            c22 = (c22 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b2[3u])));
            c23 = (c23 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3[3u])));
            c30 = (c30 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b0[3u])));
            c31 = (c31 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b1[3u])));
            c32 = (c32 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b2[3u])));
            c33 = (c33 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3[3u])));
            }
          }
          la[ab + 14400u + (i0 + 0u) * 64u + j0 + 0u] = bitcast<u32>(c00);
          la[ab + 14400u + (i0 + 0u) * 64u + j0 + 1u] = bitcast<u32>(c01);
          la[ab + 14400u + (i0 + 0u) * 64u + j0 + 2u] = bitcast<u32>(c02);
          la[ab + 14400u + (i0 + 0u) * 64u + j0 + 3u] = bitcast<u32>(c03);
          la[ab + 14400u + (i0 + 1u) * 64u + j0 + 0u] = bitcast<u32>(c10);
          la[ab + 14400u + (i0 + 1u) * 64u + j0 + 1u] = bitcast<u32>(c11);
          la[ab + 14400u + (i0 + 1u) * 64u + j0 + 2u] = bitcast<u32>(c12);
          la[ab + 14400u + (i0 + 1u) * 64u + j0 + 3u] = bitcast<u32>(c13);
          la[ab + 14400u + (i0 + 2u) * 64u + j0 + 0u] = bitcast<u32>(c20);
          la[ab + 14400u + (i0 + 2u) * 64u + j0 + 1u] = bitcast<u32>(c21);
          la[ab + 14400u + (i0 + 2u) * 64u + j0 + 2u] = bitcast<u32>(c22);
          la[ab + 14400u + (i0 + 2u) * 64u + j0 + 3u] = bitcast<u32>(c23);
          la[ab + 14400u + (i0 + 3u) * 64u + j0 + 0u] = bitcast<u32>(c30);
          la[ab + 14400u + (i0 + 3u) * 64u + j0 + 1u] = bitcast<u32>(c31);
          la[ab + 14400u + (i0 + 3u) * 64u + j0 + 2u] = bitcast<u32>(c32);
          la[ab + 14400u + (i0 + 3u) * 64u + j0 + 3u] = bitcast<u32>(c33);
        }
      }
      storageBarrier();
      workgroupBarrier();
      v29 = 0.125f;
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 16448u + e] = bitcast<u32>((bitcast<f32>(la[ab + 14400u + e]) * v29));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + 18496u + e] = bitcast<u32>(bitcast<f32>(la[ab + (12288u + e * 1u)]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 256u) {
          let o = e / 8u;
          let p = e % 8u;
          var part_6: f32 = bitcast<f32>(0xff800000u);
          for (var j0 = 0u; j0 < 64u; j0 = j0 + 8u) {
            let j = j0 + p;
            if (j < 64u) {
              part_6 = max_f32(part_6, bitcast<f32>(la[ab + 16448u + (0u + o * 64u + 0u + j * 1u)]));
            }
          }
          la[ab + 18528u + e] = bitcast<u32>(part_6);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          total_7 = bitcast<f32>(0xff800000u);
          for (var q0 = 0u; q0 < 8u; q0 = q0 + 8u) {
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 0u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 1u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 2u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 3u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 4u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 5u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 6u]));
            total_7 = max_f32(total_7, bitcast<f32>(la[ab + 18528u + e * 8u + q0 + 7u]));
          }
          la[ab + 18784u + e] = bitcast<u32>(total_7);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + 18816u + e] = bitcast<u32>(max_f32(bitcast<f32>(la[ab + 18496u + e]), bitcast<f32>(la[ab + 18784u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 18848u + e] = bitcast<u32>(exp((bitcast<f32>(la[ab + 16448u + e]) - bitcast<f32>(la[ab + 18816u + (0u + (e / 64u) * 1u)]))));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + 20896u + e] = bitcast<u32>(exp((bitcast<f32>(la[ab + 18496u + e]) - bitcast<f32>(la[ab + 18816u + e]))));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 256u) {
          let o = e / 8u;
          let p = e % 8u;
          var part_8: f32 = 0.0f;
          for (var j0 = 0u; j0 < 64u; j0 = j0 + 8u) {
            let j = j0 + p;
            if (j < 64u) {
              part_8 = (part_8 + bitcast<f32>(la[ab + 18848u + (0u + o * 64u + 0u + j * 1u)]));
            }
          }
          la[ab + 20928u + e] = bitcast<u32>(part_8);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          total_9 = 0.0f;
          for (var q0 = 0u; q0 < 8u; q0 = q0 + 8u) {
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 0u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 1u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 2u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 3u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 4u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 5u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 6u]));
            total_9 = (total_9 + bitcast<f32>(la[ab + 20928u + e * 8u + q0 + 7u]));
          }
          la[ab + 21184u + e] = bitcast<u32>(total_9);
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + 21216u + e] = bitcast<u32>(((bitcast<f32>(la[ab + 20896u + e]) * bitcast<f32>(la[ab + (12320u + e * 1u)])) + bitcast<f32>(la[ab + 21184u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 128u) {
          let i0 = (e / 16u) * 4u;
          let j0 = (e % 16u) * 4u;
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
            let a0 = la4[ab / 4u + 4712u + (i0 + 0u) * 16u + k0 / 4u];
            let a1 = la4[ab / 4u + 4712u + (i0 + 1u) * 16u + k0 / 4u];
            let a2 = la4[ab / 4u + 4712u + (i0 + 2u) * 16u + k0 / 4u];
            let a3 = la4[ab / 4u + 4712u + (i0 + 3u) * 16u + k0 / 4u];
            { let k = k0 + 0u;
            let b0_0 = la4[ab / 4u + 1536u + k * 16u + j0 / 4u + 0u];
            c00 = (c00 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[0u]) * bitcast<f32>(b0_0[3u])));
            c10 = (c10 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[0u]) * bitcast<f32>(b0_0[3u])));
            c20 = (c20 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[0u]) * bitcast<f32>(b0_0[3u])));
            c30 = (c30 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[0u]) * bitcast<f32>(b0_0[3u])));
            }
            { let k = k0 + 1u;
            let b1_0 = la4[ab / 4u + 1536u + k * 16u + j0 / 4u + 0u];
            c00 = (c00 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[1u]) * bitcast<f32>(b1_0[3u])));
            c10 = (c10 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[1u]) * bitcast<f32>(b1_0[3u])));
            c20 = (c20 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[1u]) * bitcast<f32>(b1_0[3u])));
            c30 = (c30 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[1u]) * bitcast<f32>(b1_0[3u])));
            }
            { let k = k0 + 2u;
            let b2_0 = la4[ab / 4u + 1536u + k * 16u + j0 / 4u + 0u];
            c00 = (c00 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[2u]) * bitcast<f32>(b2_0[3u])));
            c10 = (c10 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[2u]) * bitcast<f32>(b2_0[3u])));
            c20 = (c20 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[2u]) * bitcast<f32>(b2_0[3u])));
            c30 = (c30 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[2u]) * bitcast<f32>(b2_0[3u])));
            }
            { let k = k0 + 3u;
            let b3_0 = la4[ab / 4u + 1536u + k * 16u + j0 / 4u + 0u];
            c00 = (c00 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[0u])));
            c01 = (c01 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[1u])));
            c02 = (c02 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[2u])));
            c03 = (c03 + (bitcast<f32>(a0[3u]) * bitcast<f32>(b3_0[3u])));
            c10 = (c10 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[0u])));
            c11 = (c11 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[1u])));
            c12 = (c12 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[2u])));
            c13 = (c13 + (bitcast<f32>(a1[3u]) * bitcast<f32>(b3_0[3u])));
            c20 = (c20 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[0u])));
            c21 = (c21 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[1u])));
            c22 = (c22 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[2u])));
            c23 = (c23 + (bitcast<f32>(a2[3u]) * bitcast<f32>(b3_0[3u])));
            c30 = (c30 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[0u])));
            c31 = (c31 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[1u])));
            c32 = (c32 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[2u])));
            c33 = (c33 + (bitcast<f32>(a3[3u]) * bitcast<f32>(b3_0[3u])));
            }
          }
          la[ab + 21248u + (i0 + 0u) * 64u + j0 + 0u] = bitcast<u32>(c00);
          la[ab + 21248u + (i0 + 0u) * 64u + j0 + 1u] = bitcast<u32>(c01);
          la[ab + 21248u + (i0 + 0u) * 64u + j0 + 2u] = bitcast<u32>(c02);
          la[ab + 21248u + (i0 + 0u) * 64u + j0 + 3u] = bitcast<u32>(c03);
          la[ab + 21248u + (i0 + 1u) * 64u + j0 + 0u] = bitcast<u32>(c10);
          la[ab + 21248u + (i0 + 1u) * 64u + j0 + 1u] = bitcast<u32>(c11);
          la[ab + 21248u + (i0 + 1u) * 64u + j0 + 2u] = bitcast<u32>(c12);
          la[ab + 21248u + (i0 + 1u) * 64u + j0 + 3u] = bitcast<u32>(c13);
          la[ab + 21248u + (i0 + 2u) * 64u + j0 + 0u] = bitcast<u32>(c20);
          la[ab + 21248u + (i0 + 2u) * 64u + j0 + 1u] = bitcast<u32>(c21);
          la[ab + 21248u + (i0 + 2u) * 64u + j0 + 2u] = bitcast<u32>(c22);
          la[ab + 21248u + (i0 + 2u) * 64u + j0 + 3u] = bitcast<u32>(c23);
          la[ab + 21248u + (i0 + 3u) * 64u + j0 + 0u] = bitcast<u32>(c30);
          la[ab + 21248u + (i0 + 3u) * 64u + j0 + 1u] = bitcast<u32>(c31);
          la[ab + 21248u + (i0 + 3u) * 64u + j0 + 2u] = bitcast<u32>(c32);
          la[ab + 21248u + (i0 + 3u) * 64u + j0 + 3u] = bitcast<u32>(c33);
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + 23296u + e] = bitcast<u32>(((bitcast<f32>(la[ab + (12352u + (e / 64u) * 64u + (e % 64u) * 1u)]) * bitcast<f32>(la[ab + 20896u + (0u + (e / 64u) * 1u)])) + bitcast<f32>(la[ab + 21248u + e])));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + (12288u + e * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 18816u + e]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      {
        let e = lid;
        if (e < 32u) {
          la[ab + (12320u + e * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 21216u + e]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
        let e = e0 + lid;
        {
          la[ab + (12352u + (e / 64u) * 64u + (e % 64u) * 1u)] = bitcast<u32>(bitcast<f32>(la[ab + 23296u + e]));
        }
      }
      storageBarrier();
      workgroupBarrier();
      v48 = 3i;
      v49 = (v19 == v48);
      if (lid == 0u) {
        ub = select(0u, 1u, v49);
      }
      let u_10 = (workgroupUniformLoad(&ub) != 0u);
      workgroupBarrier();
      if (u_10) {
        for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
          let e = e0 + lid;
          {
            la[ab + (10240u + (e / 64u) * 64u + (e % 64u) * 1u)] = bitcast<u32>((bitcast<f32>(la[ab + 23296u + e]) / bitcast<f32>(la[ab + 21216u + (0u + (e / 64u) * 1u)])));
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
      else {
      }
    }
  }
  if (have3) {
    for (var e0 = 0u; e0 < 2048u; e0 = e0 + 256u) {
      let e = e0 + lid;
      {
        if ((u32(bi3_0) * 32u + (e / 64u)) < 128u && (u32(bi3_1) * 64u + (e % 64u)) < 64u) {
          g3[0u + (u32(bi3_0) * 32u + (e / 64u)) * 64u + (u32(bi3_1) * 64u + (e % 64u)) * 1u] = la[ab + 10240u + e];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
  var probe = 0u;
  let probe_trips = 2u + atomicLoad(&err[0]);
  for (var i = 0u; i < probe_trips; i = i + 1u) { probe = probe + 1u; }
  if (probe != probe_trips) { fault(9u); }
}
