from . import test_lead_time
from . import test_planner
from . import test_approval
from . import test_reservation
from . import test_risk_mode
from . import test_reports
from . import test_loop
from . import test_tour
