# TEMPORARY (deleted after use): time the offline CLI.
import time
import test_diagnose as t
from test_diagnose import env, daemon_back_to_normal, run_cli, MAIN, guest_iso  # noqa


def test_time_offline(env):
    t0 = time.monotonic()
    env.node.kill9()
    print("\nkill9", time.monotonic() - t0)
    try:
        for args in (("diagnose", "vm", str(MAIN), "--output-format", "json"), ("diagnose", "vm", str(MAIN))):
            t0 = time.monotonic()
            r = run_cli(env, *args)
            print(args, r.returncode, f"{time.monotonic() - t0:.1f}s")
            print(r.stdout[:3000], r.stderr[-2000:])
    finally:
        t0 = time.monotonic()
        env.node.start()
        print("start", time.monotonic() - t0)
