# lit configuration for dlc's golden tests: every .dlc file under tests/lit and
# examples/ with a RUN line is a test.
import os
import lit.formats

config.name = "dlc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".dlc", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.dlc_tools_dir), "tests", "lit-out")
config.substitutions.append(("%dlc", os.path.join(config.dlc_tools_dir, "dlc")))
config.substitutions.append(("%FileCheck", config.filecheck))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%srcroot", config.dlc_src_root))
config.environment["PATH"] = os.pathsep.join(
    [config.dlc_tools_dir, os.path.dirname(config.filecheck), config.environment.get("PATH", "")])
for var in ["ASAN_OPTIONS", "UBSAN_OPTIONS", "HOME"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Hermetic: `dlc run` keeps its on-disk kernel cache in a fresh directory of this run,
# never in the user's ~/.cache/dlc.
import shutil
_cache = os.path.join(config.test_exec_root, "kernel-cache")
shutil.rmtree(_cache, ignore_errors=True)
config.environment["DLC_CACHE_DIR"] = _cache
