# TEMPORARY dry-run harness (deleted after use): the engine answers 501, so every report is faked
# by an object that satisfies any assertion; this exercises injections AND restores.
import subprocess
import test_diagnose as t
from test_diagnose import *  # noqa


class Anything(dict):
    def __getitem__(self, k): return Anything()
    def get(self, k, d=None): return Anything()
    def __eq__(self, o): return True
    def __ne__(self, o): return True
    def __lt__(self, o): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __floordiv__(self, o): return Anything()
    __mul__ = __add__ = __sub__ = __rfloordiv__ = __floordiv__
    def __contains__(self, o): return True
    def __iter__(self): return iter([Anything()])
    def __len__(self): return 1
    def __bool__(self): return True
    def __getattr__(self, n): return lambda *a, **k: Anything()
    def __str__(self): return "anything"
    def __hash__(self): return 0


t.diagnose_vm = lambda env, vmid: (t.answer.__doc__, Anything())[1]
t.diagnose_node = lambda env, **p: Anything()
t.check = lambda report, cid: Anything()
t.first_line = lambda report: Anything()
t.expect_no_fault = lambda r: None
t.expect_verdict = lambda *a, **k: Anything()
t.cli_json = lambda result: Anything()
_run = t.run_cli
def fake_cli(env, *args, **kw):
    r = _run(env, *args, **kw)
    return subprocess.CompletedProcess(r.args, Anything(), Anything(), r.stderr)
t.run_cli = fake_cli


def test_zz_measure(env):
    import time
    print()
    print(env.guest(101, "noise start", "VIREO-NOISE"))
    last = None
    try:
        for _ in range(9):
            psi = open("/proc/pressure/io").read().split("\n")
            st = env.status(101)
            st0 = env.status(100)
            now = time.monotonic()
            if last:
                print(f"psi {psi[0]} | {psi[1]} | vm101 {(st['diskwrite'] - last[1]) / (now - last[0]) / 1e6:.1f} MB/s"
                      f" vm100 {(st0['diskwrite'] - last[2]) / (now - last[0]) / 1e6:.2f} MB/s")
            last = (now, st["diskwrite"], st0["diskwrite"])
            time.sleep(5)
    finally:
        print(env.guest(101, "noise stop", "VIREO-NOISE"))
    rrd = env.root.ok("GET", "/nodes/vmnode/qemu/101/rrddata", {"timeframe": "hour"})
    print(rrd[-3:])
    print(env.root.ok("GET", "/nodes/vmnode/rrddata", {"timeframe": "hour"})[-3:])
