"""LLVM plumbing: native target, host TargetMachine, new-pass-manager optimization, MCJIT."""
from __future__ import annotations

import functools

import llvmlite.binding as llvm


@functools.cache
def _init():
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return True


def host_cpu() -> tuple[str, str]:
    _init()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


@functools.cache
def target_machine(cpu: str | None = None, features: str | None = None, opt: int = 3, reloc="default",
                   codemodel="jitdefault"):
    """TargetMachine for ``cpu`` (default: the host, with the host's features); shared, never
    handed to an engine (MCJIT takes ownership of its TargetMachine: see ``JIT``)."""
    return new_target_machine(cpu, features, opt, reloc, codemodel)


def new_target_machine(cpu=None, features=None, opt=3, reloc="default", codemodel="jitdefault"):
    _init()
    if cpu is None:
        cpu, host_features = host_cpu()
        features = host_features if features is None else features
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=cpu, features=features or "", opt=opt, reloc=reloc, codemodel=codemodel)


def target_key(tm_args=()) -> str:
    cpu, feats = host_cpu() if not tm_args else tm_args[:2]
    return f"{llvm.get_process_triple()}|{cpu}|{feats}|llvm{'.'.join(map(str, llvm.llvm_version_info))}"


def optimize(mod, tm, level: int = 3):
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pto.loop_vectorization = level >= 2
    pto.slp_vectorization = level >= 2
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def parse(text: str):
    _init()
    mod = llvm.parse_assembly(text)
    mod.verify()
    return mod


class JIT:
    """Owns an MCJIT engine; keep it alive while any function pointer from it is callable.

    The engine owns (and frees) its TargetMachine, so each JIT gets a fresh one.
    """

    def __init__(self, mod=None, objects=()):
        _init()
        self.engine = llvm.create_mcjit_compiler(mod if mod is not None else llvm.parse_assembly(""),
                                                 new_target_machine())
        self._objects = [llvm.ObjectFileRef.from_data(o) for o in objects]
        for obj in self._objects:
            self.engine.add_object_file(obj)
        self.engine.finalize_object()
        from .threads import install
        self.threads = install(self.engine)

    def address(self, name: str) -> int:
        addr = self.engine.get_function_address(name)
        if not addr:
            raise KeyError(f"function {name!r} not found in the compiled module")
        return addr
