"""Wrench time: the share of a technician's hours spent working on machines rather than waiting."""


def wrench_pct(work_hours: float, wait_hours: float) -> float:
    """Wrench time in percent: hours working over hours working or waiting (0 without either)."""
    total = work_hours + wait_hours
    return 100.0 * work_hours / total if total > 0 else 0.0
