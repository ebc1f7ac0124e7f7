from . import mro_risk_mode_wizard
from . import mro_kit_return_wizard
from . import mro_timer_pause_wizard
