from . import test_asset_model
from . import test_analysis
from . import test_alerts
from . import test_rules
from . import test_ledger
from . import test_ui
from . import test_roles
from . import test_silence
