from . import mro_sensor_gateway
from . import mro_sensor
from . import mro_sensor_reading
from . import mro_sensor_reading_hourly
from . import maintenance_equipment
from . import res_config_settings
