//! The region walker over a third, minimal machine: it shows what a
//! backend must supply (memory) and what the walker does for it (values,
//! control flow, scoped scratch), with an independent expectation for
//! each kernel.

use pallas_exec::walk::{self, Env, Machine, Slot};
use pallas_exec::{
    analysis::Analysis,
    eval::{Data, Tensor},
    layout::Layout,
};
use pallas_ir::text::parse_and_validate;
use pallas_ir::{Indexer, Inst, InstData, Offset, Op, RefType, Scalar, ValidatedKernel};

/// A machine with one flat `f32` memory per ref and no checks: loads and
/// stores of one element (`%r[i]`) or of the whole ref (`%r[:]`).
struct Toy<'k> {
    vk: &'k ValidatedKernel,
    env: Env<usize>,
    mem: Vec<Vec<f32>>,
    scopes: Vec<usize>,
    iterations: u64,
    visited: Vec<Inst>,
}

impl<'k> Toy<'k> {
    fn new(vk: &'k ValidatedKernel, sizes: &[usize]) -> Toy<'k> {
        let k = vk.kernel();
        let mut env = Env::new(k.values.len());
        for (i, &a) in k.regions[k.body].args.iter().enumerate() {
            env[a.index()] = Slot::Ref(i);
        }
        Toy {
            vk,
            env,
            mem: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            scopes: Vec::new(),
            iterations: 0,
            visited: Vec::new(),
        }
    }

    fn run(&mut self) {
        let k = self.vk.kernel();
        walk::run_insts(k, self, k.body).unwrap();
    }

    fn index(&self, idx: &[Indexer]) -> Option<usize> {
        match idx {
            [Indexer::Index(Offset::Static(i))] => Some(*i as usize),
            [Indexer::Index(Offset::Dynamic(v))] => Some(self.env.t(*v).as_i32() as usize),
            _ => None,
        }
    }
}

impl<'k> Machine<'k> for Toy<'k> {
    type Ref = usize;
    type Error = String;

    fn env(&mut self) -> &mut Env<usize> {
        &mut self.env
    }

    fn value_dtype(&self, v: pallas_ir::Value) -> pallas_ir::DType {
        self.vk.value_dtype(v).unwrap_or(pallas_ir::DType::Bool)
    }

    fn at(&mut self, inst: Inst) {
        self.visited.push(inst);
    }

    fn effect(&mut self, data: &'k InstData) -> Result<(), String> {
        match &data.op {
            Op::Load { src, .. } => {
                let m = &self.mem[self.env.r(src.r)];
                let t = match self.index(&src.idx) {
                    Some(i) => Tensor::scalar(Scalar::F32(m[i])),
                    None => Tensor {
                        data: Data::F32(m.clone()),
                        shape: vec![m.len()],
                    },
                };
                self.env.put(data.results[0], t);
            }
            Op::Store { dst, value, .. } => {
                let r = self.env.r(dst.r);
                let v = match &self.env.t(*value).data {
                    Data::F32(v) => v.clone(),
                    _ => return Err("f32 only".into()),
                };
                match self.index(&dst.idx) {
                    Some(i) => self.mem[r][i] = v[0],
                    None => self.mem[r].copy_from_slice(&v),
                }
            }
            other => return Err(format!("the toy machine has no `{}`", other.name())),
        }
        Ok(())
    }

    fn loop_iteration(&mut self) -> Result<(), String> {
        self.iterations += 1;
        Ok(())
    }

    fn open_scope(&mut self, scratch: &'k [RefType]) -> Result<Vec<Slot<usize>>, String> {
        self.scopes.push(self.mem.len());
        Ok(scratch
            .iter()
            .map(|t| {
                self.mem.push(vec![0.0; t.shape.iter().product()]);
                Slot::Ref(self.mem.len() - 1)
            })
            .collect())
    }

    fn close_scope(&mut self) -> Result<(), String> {
        let base = self.scopes.pop().ok_or("no scope open")?;
        self.mem.truncate(base);
        Ok(())
    }
}

#[test]
fn loops_branches_and_scoped_scratch_run_over_any_machine() {
    // o[i] = i * i for even i, -i for odd i (a for loop with an if), then
    // o[7] = the number of halvings from 100 to 1 (a while loop), summed
    // through a scoped scratch cell.
    let src = "kernel k grid() {
  out o: f32[8] vmem
  body(%o) {
    %z = const 0:i32
    %n = const 7:i32
    for %z to %n step 1 init() do(%i) {
      %two = const 2:i32
      %r = rem %i, %two
      %zero = const 0:i32
      %even = cmp eq %r, %zero
      %f = cast %i to f32
      %v = if %even then {
        %sq = mul %f, %f
        yield %sq
      } else {
        %ng = neg %f
        yield %ng
      }
      store %o[%i], %v
    }
    %h = const 100:i32
    %c0 = const 0:i32
    %hn, %cn = while init(%h, %c0) cond(%a, %b) {
      %one = const 1:i32
      %go = cmp gt %a, %one
      yield %go
    } do(%a2, %b2) {
      %two2 = const 2:i32
      %half = div %a2, %two2
      %one2 = const 1:i32
      %inc = add %b2, %one2
      yield %half, %inc
    }
    run_scoped(%cell: f32[1] vmem) {
      %cf = cast %cn to f32
      store %cell[0], %cf
      %back = load %cell[0]
      store %o[7], %back
    }
  }
}";
    let vk = parse_and_validate(src).unwrap();
    let mut m = Toy::new(&vk, &[8]);
    m.run();
    // The expectation, computed independently.
    let mut want = [0.0f32; 8];
    for (i, w) in want.iter_mut().enumerate().take(7) {
        let f = i as f32;
        *w = if i % 2 == 0 { f * f } else { -f };
    }
    let (mut a, mut halvings) = (100, 0);
    while a > 1 {
        a /= 2;
        halvings += 1;
    }
    want[7] = halvings as f32;
    assert_eq!(m.mem[0], want);
    assert_eq!(m.iterations, 7 + halvings, "one call per loop iteration");
    assert!(m.scopes.is_empty() && m.mem.len() == 1, "the scope closed");
    assert!(!m.visited.is_empty(), "`at` sees every instruction");
}

#[test]
fn an_effect_the_machine_lacks_is_its_error_not_a_panic() {
    let src = "kernel k grid() {
  out o: f32[1] vmem
  scratch s: sem[1]
  body(%o, %s) {
    %one = const 1:i32
    semaphore_signal %s[0], %one
  }
}";
    let vk = parse_and_validate(src).unwrap();
    let mut m = Toy::new(&vk, &[1, 1]);
    let k = vk.kernel();
    let e = walk::run_insts(k, &mut m, k.body).unwrap_err();
    assert_eq!(e, "the toy machine has no `semaphore_signal`");
}

#[test]
fn analysis_and_layout_of_a_kernel() {
    let src = "kernel k grid(parallel 3, arbitrary 2) {
  in x: f32[20, 8] vmem block[8, 8] map(%i, %j) {
    yield %i, %j
  }
  in e: f32[0, 4] vmem block[_, 4] map(%i2, %j2) {
    %z = const 0:i32
    yield %z, %z
  }
  out o: f32[20, 8] vmem block[8, 8] map(%i3, %j3) {
    %z3 = const 0:i32
    yield %i3, %z3
  }
  body(%x, %e, %o) {
    %v = load %x[:, :]
    %w = load %x[:, :]
    %s = add %v, %w
    store %o[:, :], %s
  }
}";
    let vk = parse_and_validate(src).unwrap();
    let a = Analysis::new(vk.kernel());
    assert_eq!(a.writes_param, vec![false, false, true]);
    assert_eq!(a.atomic_param, vec![false, false, false]);
    let layout = Layout::new(&vk);
    let (x, e, o) = (&layout.blocked[0], &layout.blocked[1], &layout.blocked[2]);
    // 20 rows in blocks of 8: 3 blocks (the last partial); an empty
    // dimension still has one block.
    assert_eq!(x.nblocks, vec![3, 1]);
    assert_eq!(e.nblocks, vec![1, 1]);
    // A map that passes grid coordinates through is read off the point.
    assert_eq!(x.direct_map, Some(vec![0, 1]));
    assert_eq!(e.direct_map, None);
    assert_eq!(o.direct_map, None);
    assert!(o.body_writes && !x.body_writes);
    assert_eq!(layout.parallel_dims, 1);
}
