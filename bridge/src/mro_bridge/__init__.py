"""mro-bridge: reads Modbus TCP, OPC-UA and MQTT beside the PLCs and writes to Odoo through a durable spool."""

__version__ = "0.1.0"
