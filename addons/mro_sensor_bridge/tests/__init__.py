from . import test_ingest
from . import test_access
from . import test_partitions
from . import test_retention
from . import test_bridge_config
from . import test_sensor
from . import test_rpc_fast_path
