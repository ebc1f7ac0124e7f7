from . import mro_risk_mode_wizard
from . import mro_kit_return_wizard
