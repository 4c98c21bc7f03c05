"""GetVariables (OCPP 2.0.1 Part 2 B06): one GetVariableResult per GetVariableData, in order (B06.FR.01): the Actual
value, or UnknownComponent, UnknownVariable, NotSupportedAttributeType, Rejected (WriteOnly); see
`device_model.get_variable`.

A request of more than ItemsPerMessage(GetVariables) items is answered with the CALLERROR OccurrenceConstraintViolation
(B06.FR.16; `errors.at_most_items`). Its BytesPerMessage is the link's largest frame, which the link
enforces.
"""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.device_model import ITEMS_PER_MESSAGE, get_variable
from firmware.ocpp201.errors import at_most_items
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, get_variable_data: list[dict[str, Any]]) -> call_result.GetVariables:
    model = services.device_model
    assert model is not None, "the 2.0.1 adapter's services carry its device model"
    at_most_items(get_variable_data, ITEMS_PER_MESSAGE, "ItemsPerMessage(GetVariables)")
    return call_result.GetVariables(get_variable_result=[
        get_variable(model, item["component"], item["variable"], item.get("attribute_type"))
        for item in get_variable_data])
