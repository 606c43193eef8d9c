#!/usr/bin/env python3
"""JAX/XLA on CPU on the workloads of ../shared/BENCHMARKS.md, exactly as defined there.

Run by bench/compare from the virtual environment bench/.venv (PyPI `jax[cpu]`), pinned
to two cores by the caller (taskset) with XLA's intra-op threads set in XLA_FLAGS. Each
case is one jax.jit-compiled function; the training steps and the Adam update donate
their parameters and state (updated in place, as dlc does). Adam and SGD momentum
follow torch.optim's update rules (no optax). Prints one JSON object per case and
line (see common.py); `compile_ms` is the first call (trace + XLA compile + run).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

N_ELEMS = 1 << 24


def block(x):
    return jax.tree_util.tree_map(lambda a: a.block_until_ready(), x)


def uniform(key, shape, lo, hi):
    return jax.random.uniform(key, shape, jnp.float32, lo, hi)


def linear_init(key, fan_in, fan_out):
    kw, kb = jax.random.split(key)
    bound = 1.0 / fan_in ** 0.5
    return uniform(kw, (fan_out, fan_in), -bound, bound), uniform(kb, (fan_out,), -bound, bound)


def cross_entropy(logits, labels):
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def adam_update(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat = m / (1 - b1 ** t)
    vhat = v / (1 - b2 ** t)
    return p - lr * mhat / (jnp.sqrt(vhat) + eps), m, v


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2), (w3, b3) = params
    h = jax.nn.relu(x @ w1.T + b1)
    h = jax.nn.relu(h @ w2.T + b2)
    return cross_entropy(h @ w3.T + b3, y)


def timed_first_call(fn, *args):
    t0 = time.perf_counter()
    out = block(fn(*args))
    return out, (time.perf_counter() - t0) * 1e3


def mlp_step(batch):
    def make():
        keys = jax.random.split(jax.random.PRNGKey(0), 5)
        params = [linear_init(keys[0], 784, 512), linear_init(keys[1], 512, 512), linear_init(keys[2], 512, 10)]
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        x = uniform(keys[3], (batch, 784), 0, 1)
        y = jax.random.randint(keys[4], (batch,), 0, 10)

        def step(params, m, v, t, x, y):
            loss, grads = jax.value_and_grad(mlp_loss)(params, x, y)
            t = t + 1
            flat_p, tree = jax.tree_util.tree_flatten(params)
            flat = [adam_update(p, g, m_, v_, t) for p, g, m_, v_ in
                    zip(flat_p, jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(m),
                        jax.tree_util.tree_leaves(v))]
            pick = lambda i: jax.tree_util.tree_unflatten(tree, [u[i] for u in flat])  # noqa: E731
            return pick(0), pick(1), pick(2), t, loss

        step = jax.jit(step, donate_argnums=(0, 1, 2))
        state = [params, zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.int32(0)]
        out, compile_ms = timed_first_call(step, *state, x, y)
        state[:] = list(out[:4])

        def run():
            out = step(*state, x, y)
            state[:] = list(out[:4])
            block(out[4])
        return run, {"compile_ms": compile_ms}
    return make


def cnn_loss(params, x, y):
    (c1w, c1b), (c2w, c2b), (f1w, f1b), (f2w, f2b) = params
    dn = ("NCHW", "OIHW", "NCHW")
    h = jax.lax.conv_general_dilated(x, c1w, (1, 1), [(2, 2), (2, 2)], dimension_numbers=dn) + c1b[None, :, None, None]
    h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    h = jax.lax.conv_general_dilated(h, c2w, (1, 1), [(2, 2), (2, 2)], dimension_numbers=dn) + c2b[None, :, None, None]
    h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    h = h.reshape(h.shape[0], -1)
    h = jax.nn.relu(h @ f1w.T + f1b)
    return cross_entropy(h @ f2w.T + f2b, y)


def cnn_step(batch):
    def make():
        keys = jax.random.split(jax.random.PRNGKey(0), 6)

        def conv_init(key, o, c, k):
            kw, kb = jax.random.split(key)
            bound = 1.0 / (c * k * k) ** 0.5
            return uniform(kw, (o, c, k, k), -bound, bound), uniform(kb, (o,), -bound, bound)
        params = [conv_init(keys[0], 32, 1, 5), conv_init(keys[1], 64, 32, 5),
                  linear_init(keys[2], 3136, 128), linear_init(keys[3], 128, 10)]
        x = uniform(keys[4], (batch, 1, 28, 28), 0, 1)
        y = jax.random.randint(keys[5], (batch,), 0, 10)

        def step(params, buf, x, y):
            loss, grads = jax.value_and_grad(cnn_loss)(params, x, y)
            buf = jax.tree_util.tree_map(lambda b, g: 0.9 * b + g, buf, grads)
            params = jax.tree_util.tree_map(lambda p, b: p - 0.01 * b, params, buf)
            return params, buf, loss
        step = jax.jit(step, donate_argnums=(0, 1))
        state = [params, jax.tree_util.tree_map(jnp.zeros_like, params)]
        out, compile_ms = timed_first_call(step, *state, x, y)
        state[:] = list(out[:2])

        def run():
            out = step(*state, x, y)
            state[:] = list(out[:2])
            block(out[2])
        return run, {"compile_ms": compile_ms}
    return make


def gelu(x):
    return 0.5 * x * (1.0 + jnp.tanh(0.7978845608 * (x + 0.044715 * (x * x * x))))


def gelu_case(bwd):
    def make():
        x = uniform(jax.random.PRNGKey(0), (N_ELEMS,), -3, 3)
        f = jax.jit(jax.grad(lambda t: jnp.sum(gelu(t)))) if bwd else jax.jit(gelu)
        _, compile_ms = timed_first_call(f, x)
        return (lambda: block(f(x))), {"compile_ms": compile_ms}
    return make


def adam_case():
    def make():
        keys = jax.random.split(jax.random.PRNGKey(0), 4)
        state = [uniform(keys[0], (N_ELEMS,), -1, 1), uniform(keys[2], (N_ELEMS,), -0.1, 0.1),
                 uniform(keys[3], (N_ELEMS,), 0, 0.01)]
        g = uniform(keys[1], (N_ELEMS,), -1, 1)
        f = jax.jit(lambda p, m, v, g, t: adam_update(p, g, m, v, t), donate_argnums=(0, 1, 2))
        out, compile_ms = timed_first_call(f, *state, g, jnp.float32(10))
        state[:] = list(out)

        def run():
            state[:] = list(block(f(*state, g, jnp.float32(10))))
        return run, {"compile_ms": compile_ms}
    return make


def xent_case():
    def make():
        k1, k2 = jax.random.split(jax.random.PRNGKey(0))
        logits = uniform(k1, (4096, 1000), -4, 4)
        labels = jax.random.randint(k2, (4096,), 0, 1000)
        f = jax.jit(jax.value_and_grad(cross_entropy))
        _, compile_ms = timed_first_call(f, logits, labels)
        return (lambda: block(f(logits, labels))), {"compile_ms": compile_ms}
    return make


def gemm_case(m, n, k, trans):
    def make():
        k1, k2 = jax.random.split(jax.random.PRNGKey(0))
        a = uniform(k1, (k, m) if trans[0] == "T" else (m, k), 0, 1)
        b = uniform(k2, (n, k) if trans[1] == "T" else (k, n), 0, 1)
        f = jax.jit(lambda a, b: (a.T if trans[0] == "T" else a) @ (b.T if trans[1] == "T" else b))
        _, compile_ms = timed_first_call(f, a, b)
        return (lambda: block(f(a, b))), {"flops": 2 * m * n * k, "compile_ms": compile_ms}
    return make


def main():
    args = common.parse_args(__doc__)
    config = args.config or "default"
    cases = [("mlp.b128", "mlp", mlp_step(128))]
    if not args.quick:
        cases.append(("mlp.b1024", "mlp", mlp_step(1024)))
    cases += [
        ("cnn.b64", "cnn", cnn_step(64)),
        ("gelu.fwd", "gelu", gelu_case(False)),
        ("gelu.bwd", "gelu", gelu_case(True)),
        ("adam", "adam", adam_case()),
        ("xent", "xent", xent_case()),
    ]
    for m, n, k, t in (common.QUICK_GEMM_SHAPES if args.quick else common.GEMM_SHAPES):
        cases.append((common.gemm_id(m, n, k, t), "gemm", gemm_case(m, n, k, t)))
    print(f"jax {jax.__version__} on {jax.devices()}, config {config}", file=sys.stderr)
    common.run_cases("jax", config, args, cases)
    common.emit("jax", config, "_info", "_info", {"version": jax.__version__})


if __name__ == "__main__":
    main()
