"""Seed 004's scheduler, reduced to its shape: periodic jobs in one long-running
process that finishes the current job and exits 0 on SIGTERM."""
import signal
import sys
import time

stopping = False


def stop(signum, frame):
    global stopping
    print("scheduler: stopping", flush=True)
    stopping = True


signal.signal(signal.SIGTERM, stop)
print("scheduler: started (debt reminders 08:00, reorder alerts 09:00, cleanup Sunday 00:00)", flush=True)
while not stopping:
    time.sleep(1)
print("scheduler: stopped", flush=True)
sys.exit(0)
