//! One test per validator error: a bad kernel and the exact error it gets
//! (kernel, operation, line:column, message).

use pallas_ir::builder::{KernelBuilder, Spec};
use pallas_ir::{text, validate, DType, DimSemantics, ValidationErrorKind};

/// A kernel with one blocked input `%x` and output `%o` of f32[8, 128]
/// blocks over f32[16, 128]; `body` starts on line 11.
fn with_body(body: &str) -> String {
    format!(
        "kernel k grid(parallel 2) {{
  in x: f32[16, 128] vmem block[8, 128] map(%i) {{
    %z = const 0:i32
    yield %i, %z
  }}
  out o: f32[16, 128] vmem block[8, 128] map(%j) {{
    %z2 = const 0:i32
    yield %j, %z2
  }}
  body(%x, %o) {{
{body}
  }}
}}
"
    )
}

fn errors(src: &str) -> Vec<String> {
    let k = text::parse(src).unwrap_or_else(|e| panic!("parse error {e} in\n{src}"));
    match validate(&k) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn one_error(src: &str) -> String {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected exactly one error, got {errs:#?}");
    errs.into_iter().next().unwrap()
}

fn body_error(body: &str) -> String {
    one_error(&with_body(body))
}

#[test]
fn the_template_itself_is_valid() {
    assert!(errors(&with_body("    %a = load %x[:, :]\n    store %o[:, :], %a")).is_empty());
}

#[test]
fn parallel_after_arbitrary() {
    assert_eq!(
        one_error("kernel k grid(arbitrary 2, parallel 3) {\n  body() {\n  }\n}"),
        "kernel `k`: grid at 1:1: grid axis 1 is parallel but follows an arbitrary axis; parallel axes must form a leading prefix"
    );
}

#[test]
fn duplicate_param() {
    assert_eq!(
        one_error(
            "kernel k grid() {\n  in a: f32[4] vmem\n  in a: f32[4] vmem\n  body(%a, %b) {\n  }\n}"
        ),
        "kernel `k`: param `a` at 3:3: duplicate parameter name `a`"
    );
}

#[test]
fn param_order() {
    assert_eq!(
        one_error("kernel k grid() {\n  out o: f32[4] vmem\n  in a: f32[4] vmem\n  body(%o, %a) {\n  }\n}"),
        "kernel `k`: param `a` at 3:3: parameter `a` is in but comes after a out parameter; expected order: prefetch, in, out, scratch"
    );
}

#[test]
fn prefetch_not_in_smem() {
    assert_eq!(
        one_error("kernel k grid() {\n  prefetch p: i32[4] vmem\n  body(%p) {\n  }\n}"),
        "kernel `k`: param `p` at 2:3: a scalar-prefetch parameter cannot live in memory space `vmem`; expected smem"
    );
}

#[test]
fn prefetch_of_semaphores() {
    let errs = errors("kernel k grid() {\n  prefetch p: sem[4]\n  body(%p) {\n  }\n}");
    assert!(
        errs.iter()
            .any(|e| e.ends_with("a scalar-prefetch parameter: expected a data dtype, found sem")),
        "{errs:?}"
    );
}

#[test]
fn prefetch_of_floats_is_valid() {
    assert!(text::parse_and_validate(
        "kernel k grid() {\n  prefetch p: f32[4] smem\n  body(%p) {\n  }\n}"
    )
    .is_ok());
}

#[test]
fn semaphore_input() {
    assert_eq!(
        one_error("kernel k grid() {\n  in s: sem[2]\n  body(%s) {\n  }\n}"),
        "kernel `k`: param `s` at 2:3: an input or output: expected a data dtype, found sem"
    );
}

#[test]
fn blocked_hbm_ref() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16] any block[8] map(%i) {\n    yield %i\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: a block spec is not allowed here: a ref in memory space `any` is not blocked"
    );
}

#[test]
fn block_rank() {
    assert_eq!(
        errors("kernel k grid(parallel 2) {\n  in x: f32[16, 4] vmem block[8] map(%i) {\n    yield %i\n  }\n  body(%x) {\n  }\n}"),
        vec![
            "kernel `k`: param `x` at 2:3: block shape has rank 1, but the array has rank 2",
            "kernel `k`: param `x` at 2:3: index map returns 1 block indices, expected 2 (one per array dimension)"
        ]
    );
}

#[test]
fn an_empty_block_dimension() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16] vmem block[0] map(%i) {\n    yield %i\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: block dimension 0 is 0, expected at least 1 (the array's size is 16)"
    );
}

#[test]
fn a_block_larger_than_the_array_is_valid() {
    let src = "kernel k grid(parallel 1) {\n  in x: f32[16] vmem block[32] map(%i) {\n    yield %i\n  }\n  body(%x) {\n  }\n}";
    assert!(pallas_ir::text::parse_and_validate(src).is_ok());
}

#[test]
fn index_map_arity() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16] vmem block[8] map(%i, %j) {\n    yield %i\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: index map takes 2 arguments, expected 1 (grid indices then scalar-prefetch refs)"
    );
}

#[test]
fn index_map_results() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16, 4] vmem block[8, 4] map(%i) {\n    yield %i\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: index map returns 1 block indices, expected 2 (one per array dimension)"
    );
}

#[test]
fn index_map_result_type() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16] vmem block[8] map(%i) {\n    %f = const 1.0:f32\n    yield %f\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: index map yield 0 has type f32, expected i32"
    );
}

#[test]
fn program_id_in_index_map() {
    assert_eq!(
        one_error("kernel k grid(parallel 2) {\n  in x: f32[16] vmem block[8] map(%i) {\n    %p = program_id 0\n    yield %p\n  }\n  body(%x) {\n  }\n}"),
        "kernel `k`: op `program_id` at 3:5: `program_id` is not allowed in an index map (only scalar arithmetic and loads from scalar-prefetch refs)"
    );
}

#[test]
fn alias_of_different_types() {
    assert_eq!(
        one_error("kernel k grid() {\n  in a: f32[4] vmem\n  out b: i32[4] vmem\n  alias 0 -> 0\n  body(%a, %b) {\n  }\n}"),
        "kernel `k`: alias: alias in 0 -> out 0: input `a` is f32[4] but output `b` is i32[4]"
    );
}

#[test]
fn alias_out_of_range() {
    assert_eq!(
        one_error("kernel k grid() {\n  in a: f32[4] vmem\n  out b: f32[4] vmem\n  alias 1 -> 0\n  body(%a, %b) {\n  }\n}"),
        "kernel `k`: alias: alias in 1 -> out 0: the kernel has 1 inputs and 1 outputs"
    );
}

#[test]
fn value_out_of_scope_from_the_builder() {
    let mut k = KernelBuilder::new("k");
    k.body(|b, _| {
        let mut inner = None;
        b.for_loop(0, 4, 1, &[], |b, i, _| {
            inner = Some(b.add(i, i));
            vec![]
        });
        let t = inner.unwrap();
        b.add(t, t);
    });
    let errs = validate(&k.finish()).unwrap_err();
    let msg = "kernel `k`: op `add`: value %3 is used outside its scope (not defined before this point in this or an enclosing region)";
    // %0, %1: the loop bounds; %2: the induction variable; %3: the sum.
    assert_eq!(
        errs.0.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        vec![msg]
    );
}

#[test]
fn undefined_value_in_text_is_a_parse_error() {
    let src = with_body("    %lo = const 0:i32\n    for %lo to %lo step 1 init() do(%i) {\n      %t = add %i, %i\n    }\n    %u = add %t, %t");
    let err = text::parse(&src).unwrap_err();
    assert_eq!(
        err.to_string(),
        "15:14: expected a value defined earlier, found `%t`"
    );
}

#[test]
fn ref_used_as_value() {
    assert_eq!(
        body_error("    %a = add %x, %x"),
        "kernel `k`: op `add` at 11:5: lhs: expected a value, found a ref"
    );
}

#[test]
fn value_used_as_ref() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %b = load %a[:, :]"),
        "kernel `k`: op `load` at 12:5: ref: expected a ref, found a value of type f32[8, 128]"
    );
}

#[test]
fn indexer_count() {
    assert_eq!(
        body_error("    %a = load %x[:]"),
        "kernel `k`: op `load` at 11:5: ref of rank 2 indexed with 1 indexers"
    );
}

#[test]
fn static_index_out_of_range() {
    assert_eq!(
        body_error("    %a = load %x[ds(4, 8), :]"),
        "kernel `k`: op `load` at 11:5: indexer on dimension 0 reaches 12, but the dimension has 8 elements"
    );
}

#[test]
fn negative_static_index() {
    assert_eq!(
        body_error("    %a = load %x[-1, :]"),
        "kernel `k`: op `load` at 11:5: indexer on dimension 0 reaches -1, but the dimension has 8 elements"
    );
}

#[test]
fn dynamic_index_not_i32() {
    assert_eq!(
        body_error("    %f = const 1.0:f32\n    %a = load %x[%f, :]"),
        "kernel `k`: op `load` at 12:5: index: expected a scalar i32, found f32"
    );
}

#[test]
fn zero_stride() {
    assert_eq!(
        body_error("    %a = load %x[ds(0, 2, 0), :]"),
        "kernel `k`: op `load` at 11:5: slice stride must be at least 1, found 0"
    );
}

#[test]
fn load_from_hbm() {
    assert_eq!(
        one_error("kernel k grid() {\n  in x: f32[4] any\n  body(%x) {\n    %a = load %x[:]\n  }\n}"),
        "kernel `k`: op `load` at 4:5: `load` on ref `x` in memory space `any` (HBM): such refs are moved with DMAs, not loaded or stored"
    );
}

#[test]
fn load_from_semaphore() {
    assert_eq!(
        one_error(
            "kernel k grid() {\n  scratch s: sem[2]\n  body(%s) {\n    %a = load %s[:]\n  }\n}"
        ),
        "kernel `k`: op `load` at 4:5: ref: expected a data ref, found ref<sem[2]>"
    );
}

#[test]
fn semaphore_wait_on_data() {
    assert_eq!(
        body_error("    %one = const 1:i32\n    semaphore_wait %o[0, 0], %one"),
        "kernel `k`: op `semaphore_wait` at 12:5: semaphore: expected a single regular semaphore, found f32"
    );
}

#[test]
fn dma_on_regular_semaphore() {
    assert_eq!(
        one_error("kernel k grid() {\n  in x: f32[4] any\n  scratch b: f32[4] vmem\n  scratch s: sem[1]\n  body(%x, %b, %s) {\n    dma_start %x[:] -> %b[:] sem %s[0]\n  }\n}"),
        "kernel `k`: op `dma_start` at 6:5: semaphore: expected a single DMA semaphore, found sem"
    );
}

#[test]
fn dma_into_an_hbm_input() {
    assert_eq!(
        one_error("kernel k grid() {\n  in x: f32[4] any\n  scratch b: f32[4] vmem\n  scratch s: dma_sem[1]\n  body(%x, %b, %s) {\n    dma_start %b[:] -> %x[:] sem %s[0]\n  }\n}"),
        "kernel `k`: op `dma_start` at 6:5: `dma_start` writes to `x`, which is read-only (only outputs, scratch, aliased inputs and the SMEM/VMEM copies of inputs are writable)"
    );
}

#[test]
fn a_store_into_an_inputs_vmem_copy_is_valid_and_recorded() {
    let src = "kernel k grid(parallel 2) {\n  prefetch n: i32[2] smem\n  in x: f32[8] vmem block[4] map(%i, %p) {\n    yield %i\n  }\n  out o: f32[8] vmem block[4] map(%j, %q) {\n    yield %j\n  }\n  body(%n, %x, %o) {\n    %a = load %x[:]\n    store %x[:], %a\n    %b = load %x[:]\n    store %o[:], %b\n  }\n}";
    let vk = text::parse_and_validate(src).unwrap();
    assert_eq!(vk.written_input(), Some("x"));
    let untouched = src.replace("    store %x[:], %a\n", "");
    let vk = text::parse_and_validate(&untouched).unwrap();
    assert_eq!(vk.written_input(), None);
}

#[test]
fn store_to_aliased_input_is_fine() {
    let src = "kernel k grid() {\n  in a: f32[4] vmem\n  out b: f32[4] vmem\n  alias 0 -> 0\n  body(%a, %b) {\n    %v = load %a[:]\n    store %a[:], %v\n  }\n}";
    assert!(errors(src).is_empty());
}

#[test]
fn dtype_mismatch() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %one = const 1:i32\n    %b = add %a, %one"),
        "kernel `k`: op `add` at 13:5: rhs: expected dtype f32, found i32"
    );
}

#[test]
fn integer_op_on_floats() {
    assert_eq!(
        body_error("    %one = const 1.0:f32\n    %b = population_count %one"),
        "kernel `k`: op `population_count` at 12:5: operand: dtype f32 not supported, expected an integer"
    );
    assert_eq!(
        body_error("    %one = const 1:i32\n    %b = atan2 %one, %one"),
        "kernel `k`: op `atan2` at 12:5: operands: dtype i32 not supported, expected a float"
    );
}

#[test]
fn float_op_on_ints() {
    assert_eq!(
        body_error("    %one = const 1:i32\n    %b = sin %one"),
        "kernel `k`: op `sin` at 12:5: operand: dtype i32 not supported, expected a float"
    );
}

#[test]
fn shift_on_floats() {
    assert_eq!(
        body_error("    %one = const 1.0:f32\n    %b = shl %one, %one"),
        "kernel `k`: op `shl` at 12:5: operands: dtype f32 not supported, expected an integer"
    );
}

#[test]
fn shape_mismatch() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %b = load %x[ds(0, 4), :]\n    %c = add %a, %b"),
        "kernel `k`: op `add` at 13:5: elementwise operands: expected shape [8, 128], found [4, 128]"
    );
}

#[test]
fn stored_shape_mismatch() {
    assert_eq!(
        body_error("    %a = load %x[ds(0, 4), :]\n    store %o[:, :], %a"),
        "kernel `k`: op `store` at 12:5: stored value: expected shape [8, 128], found [4, 128]"
    );
}

#[test]
fn loop_bound_not_scalar() {
    assert_eq!(
        body_error("    %lo = const 0.0:f32\n    %hi = const 4:i32\n    for %lo to %hi step 1 init() do(%i) {\n    }"),
        "kernel `k`: op `for` at 13:5: lower bound: expected a scalar i32, found f32"
    );
}

#[test]
fn reduce_axis_out_of_range() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %s = reduce sum %a axes [2]"),
        "kernel `k`: op `reduce_sum` at 12:5: axis 2 out of range for rank 2"
    );
}

#[test]
fn reduce_axis_twice() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %s = reduce sum %a axes [1, 1]"),
        "kernel `k`: op `reduce_sum` at 12:5: axis 1 listed twice"
    );
}

#[test]
fn program_id_axis_out_of_range() {
    assert_eq!(
        body_error("    %p = program_id 3"),
        "kernel `k`: op `program_id` at 11:5: grid axis 3 out of range: the grid has 1 dimensions"
    );
}

#[test]
fn bad_permutation() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %t = transpose %a perm [0, 0]"),
        "kernel `k`: op `transpose` at 12:5: [0, 0] is not a permutation of 0..2"
    );
}

#[test]
fn bad_broadcast() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %t = broadcast_in_dim %a to [8, 64] dims [0, 1]"),
        "kernel `k`: op `broadcast_in_dim` at 12:5: cannot broadcast [8, 128] to [8, 64] with dims [0, 1]: an operand dim is neither 1 nor the target size"
    );
}

#[test]
fn reshape_count() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %t = reshape %a to [100]"),
        "kernel `k`: op `reshape` at 12:5: cannot reshape [8, 128] (1024 elements) to [100] (100 elements)"
    );
}

#[test]
fn bad_value_slice() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %t = slice %a start [0, 0] limit [9, 4] strides [1, 1]"),
        "kernel `k`: op `slice` at 12:5: bad slice of [8, 128]: dimension 0: need start <= limit <= 8 and stride >= 1, found 0..9 step 1"
    );
}

#[test]
fn dot_shapes() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %d = dot %a, %a"),
        "kernel `k`: op `dot` at 12:5: dot needs 2-D operands with matching contraction sizes: lhs [8, 128], rhs [8, 128]"
    );
}

#[test]
fn other_without_mask() {
    assert_eq!(
        body_error("    %z = const 0.0:f32\n    %a = load %x[:, :] other %z"),
        "kernel `k`: op `load` at 12:5: `other` (fill) given without a mask"
    );
}

#[test]
fn mask_of_wrong_dtype() {
    assert_eq!(
        body_error("    %m = const 1:i32\n    %a = load %x[:, :] mask %m"),
        "kernel `k`: op `load` at 12:5: mask: expected dtype bool, found i32"
    );
}

#[test]
fn loop_yield_count() {
    assert_eq!(
        body_error("    %lo = const 0:i32\n    %hi = const 4:i32\n    %r = for %lo to %hi step 1 init(%lo) do(%i, %c) {\n      yield %c, %c\n    }"),
        "kernel `k`: op `for` at 13:5: for body yields 2 values, expected 1"
    );
}

#[test]
fn branch_yield_types_differ() {
    assert_eq!(
        body_error("    %t = const true\n    %a = const 1:i32\n    %b = const 1.0:f32\n    %r = if %t then {\n      yield %a\n    } else {\n      yield %b\n    }"),
        "kernel `k`: op `if` at 14:5: else branch yield 0 has type f32, expected i32"
    );
}

#[test]
fn while_condition_not_bool() {
    assert_eq!(
        body_error("    %a = const 1:i32\n    %r = while init(%a) cond(%c) {\n      yield %c\n    } do(%d) {\n      yield %d\n    }"),
        "kernel `k`: op `while` at 12:5: while condition yield 0 has type i32, expected bool"
    );
}

#[test]
fn loop_step_zero() {
    assert_eq!(
        body_error("    %lo = const 0:i32\n    for %lo to %lo step 0 init() do(%i) {\n    }"),
        "kernel `k`: op `for` at 12:5: for-loop step must be at least 1, found 0"
    );
}

#[test]
fn loop_region_arity() {
    assert_eq!(
        body_error("    %lo = const 0:i32\n    for %lo to %lo step 1 init(%lo) do(%i) {\n    }"),
        "kernel `k`: op `for` at 12:5: for body takes 1 arguments, expected 2"
    );
}

#[test]
fn result_count() {
    assert_eq!(
        body_error("    %a = load %x[:, :]\n    %b, %c = add %a, %a"),
        "kernel `k`: op `add` at 12:5: operation defines 2 results, expected 1"
    );
}

#[test]
fn bitcast_of_bool() {
    assert_eq!(
        body_error("    %t = const true\n    %b = bitcast %t to i32"),
        "kernel `k`: op `bitcast` at 12:5: bitcast from bool to i32: widths differ or bool involved"
    );
}

#[test]
fn format_args() {
    assert_eq!(
        body_error("    %t = const 1:i32\n    debug_print \"{} and {}\", %t"),
        "kernel `k`: op `debug_print` at 12:5: format string has 2 `{}` placeholders but 1 arguments"
    );
}

#[test]
fn scoped_scratch_in_hbm() {
    assert_eq!(
        body_error("    run_scoped(%s: f32[4] any) {\n    }"),
        "kernel `k`: op `run_scoped` at 11:5: run_scoped scratch 0 in memory space `any`; expected vmem or smem"
    );
}

#[test]
fn scoped_ref_cannot_escape() {
    assert_eq!(
        body_error("    %r = run_scoped(%s: f32[4] vmem) {\n      yield %s\n    }"),
        "kernel `k`: op `run_scoped` at 11:5: run_scoped result: expected a value, found a ref"
    );
}

#[test]
fn shape_overflow() {
    assert_eq!(
        one_error("kernel k grid() {\n  in x: f32[4294967296, 4294967296, 4294967296] vmem\n  body(%x) {\n  }\n}"),
        "kernel `k`: param `x` at 2:3: shape [4294967296, 4294967296, 4294967296] has more elements than fit in memory"
    );
}

#[test]
fn every_error_is_collected() {
    let body =
        "    %a = load %x[:]\n    %one = const 1:i32\n    %b = sin %one\n    %p = program_id 9";
    let errs = errors(&with_body(body));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs[0].contains("at 11:5"));
    assert!(errs[1].contains("at 13:5"));
    assert!(errs[2].contains("at 14:5"));
}

#[test]
fn invalid_names_from_the_builder() {
    let mut k = KernelBuilder::new("bad name");
    k.input("x-y", DType::F32, &[4], Spec::whole());
    let errs = validate(&k.finish()).unwrap_err();
    assert_eq!(
        errs.kinds(),
        vec![
            &ValidationErrorKind::InvalidName("bad name".into()),
            &ValidationErrorKind::InvalidName("x-y".into())
        ]
    );
}

#[test]
fn empty_concatenate_from_the_builder() {
    let mut k = KernelBuilder::new("k");
    k.body(|b, _| {
        b.concatenate(&[], 0);
    });
    let errs = validate(&k.finish()).unwrap_err();
    assert_eq!(errs.kinds(), vec![&ValidationErrorKind::EmptyConcat]);
    assert_eq!(
        errs.0[0].to_string(),
        "kernel `k`: op `concatenate`: concatenate needs at least one operand"
    );
}

#[test]
fn nesting_too_deep_from_the_builder() {
    fn nest(b: &mut pallas_ir::builder::RegionBuilder, depth: usize) {
        if depth == 0 {
            return;
        }
        let t = b.bool(true);
        b.when(t, |b| nest(b, depth - 1));
    }
    let mut k = KernelBuilder::new("deep");
    k.grid(&[(1, DimSemantics::Parallel)]);
    k.body(|b, _| nest(b, 200));
    let errs = validate(&k.finish()).unwrap_err();
    assert!(errs.kinds().contains(&&ValidationErrorKind::TooDeep(
        pallas_ir::validate::MAX_NESTING
    )));
}

#[test]
fn dangling_handles_are_errors_not_panics() {
    let mut k = KernelBuilder::new("k");
    k.body(|b, _| {
        b.f32(1.0);
    });
    let mut kernel = k.finish();
    if let pallas_ir::Op::Const(_) = kernel.insts[pallas_ir::Handle::from_index(0)].op {
        kernel.insts[pallas_ir::Handle::from_index(0)].op =
            pallas_ir::Op::Unary(pallas_ir::UnaryOp::Neg, pallas_ir::Handle::from_index(999));
    }
    let errs = validate(&kernel).unwrap_err();
    assert_eq!(errs.kinds(), vec![&ValidationErrorKind::OutOfScope(999)]);
}
