from . import mro_risk_mode_wizard
