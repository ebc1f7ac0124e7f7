"""ISO 10816-3 / 20816-3 vibration severity zones (pure data, no Odoo import).

Broadband vibration velocity, RMS, mm/s, measured on bearing housings of industrial machines
above 15 kW in situ. Zone boundaries A/B (new machine), B/C (unrestricted long-term operation
ends: a warning), C/D (damage may occur: an alarm).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VibrationZones:
    """Zone boundaries in mm/s RMS."""

    ab: float
    bc: float
    cd: float


#: (machine group, foundation) -> zones. Group 1: large machines, 300 kW to 50 MW (shaft height
#: >= 315 mm); group 2: medium machines, 15 kW to 300 kW (shaft height 160-315 mm).
ISO_10816_3 = {
    ("group1", "rigid"): VibrationZones(2.3, 4.5, 7.1),
    ("group1", "flexible"): VibrationZones(3.5, 7.1, 11.0),
    ("group2", "rigid"): VibrationZones(1.4, 2.8, 4.5),
    ("group2", "flexible"): VibrationZones(2.3, 4.5, 7.1),
}


def vibration_zones(group: str, foundation: str) -> VibrationZones:
    """Zones for an ISO 10816-3 machine group ("group1"/"group2") and foundation ("rigid"/"flexible")."""
    try:
        return ISO_10816_3[(group, foundation)]
    except KeyError:
        raise ValueError(f"no ISO 10816-3 zones for machine group {group!r} on a {foundation!r} foundation") from None


#: Words in an equipment's name or category that say which kind of machine it is (asset model suggestion).
MACHINE_WORDS = {
    "pump": ("pump", "pompe", "bomba", "pumpe"),
    "motor": ("motor", "moteur", "drive", "mixer", "agitator", "extruder", "crusher"),
    "fan": ("fan", "blower", "ventilator", "ventilateur", "exhaust", "extraction"),
    "compressor": ("compressor", "compresseur", "kompressor"),
    "conveyor": ("conveyor", "convoyeur", "belt line", "transporter"),
    "gearbox": ("gearbox", "gear box", "reducer", "reductor", "getriebe"),
}


def suggest_machine_kind(*texts: str | None) -> str | None:
    """The machine kind (pump, motor, fan, compressor, conveyor, gearbox) that the first of ``texts`` naming
    one suggests (an equipment's name, then its category's), or None. The last word that names a kind wins,
    as the head of an English compound does: a "pump motor" is a motor, a "motor pump" a pump."""
    for text in texts:
        lowered = (text or "").lower()
        found = [
            (lowered.rfind(word), kind) for kind, words in MACHINE_WORDS.items() for word in words if word in lowered
        ]
        if found:
            return max(found)[1]
    return None
