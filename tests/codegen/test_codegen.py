"""Codegen: host target, vectorized FMA in a Dense kernel, on-disk cache."""
import os
import re

import numpy as np
import pytest
import llvmlite.binding as llvm

import graphc
from graphc import codegen
from graphc.codegen.llvm import host_cpu, target_machine
from graphc.ir import GraphBuilder


def _dense(n_in=64, n_out=32):
    b = GraphBuilder(name="dense")
    x = b.input("x", "float32", ("N", n_in))
    w = b.param("w", "float32", (n_in, n_out))
    bias = b.param("b", "float32", (n_out,))
    b.output(b.op("Gemm", [x, w, bias]))
    b.g.value(w).data = np.ones((n_in, n_out), np.float32)
    b.g.value(bias).data = np.ones(n_out, np.float32)
    return b.g


def test_module_uses_host_triple_and_data_layout():
    text = codegen.llvm_ir(_dense())
    tm = target_machine()
    assert f'target triple = "{tm.triple}"' in text
    assert str(tm.target_data) in text


def test_dense_kernel_assembly_has_vector_fma_on_avx2_hosts():
    cpu, features = host_cpu()
    if "+avx2" not in features or "+fma" not in features:
        pytest.skip(f"host {cpu} lacks AVX2/FMA")
    asm = codegen.assembly(_dense())
    fma = [l for l in asm.splitlines() if re.search(r"\bvfmadd\w*ps\b", l)]
    assert fma, "no packed vfmadd in the Dense kernel"
    # AVX2 registers (ymm); on AVX-512 hosts LLVM may also pick zmm, which is wider still
    assert any(re.search(r"%[yz]mm\d+", l) for l in fma), fma[:5]


def test_compiled_code_is_cached_on_disk_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    first = graphc.compile(_dense(7, 5))
    assert not first.compiled.from_cache
    files = list(tmp_path.glob("*.o"))
    assert len(files) == 1 and files[0].name.startswith(first.compiled.cache_key)
    second = graphc.compile(_dense(7, 5))
    assert second.compiled.from_cache and second.compiled.cache_key == first.compiled.cache_key
    x = np.ones((3, 7), np.float32)
    np.testing.assert_array_equal(first.run([x])[0], second.run([x])[0])
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # written atomically
    third = graphc.compile(_dense(7, 6))  # a different graph is a different key
    assert third.compiled.cache_key != first.compiled.cache_key


def test_cache_key_depends_on_target_and_version():
    from graphc.codegen import cache
    assert cache.key("g", "t1") != cache.key("g", "t2")
    assert len({cache.key("g", "t1"), cache.key("h", "t1")}) == 2
