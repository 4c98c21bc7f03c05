"""SetVariables (OCPP 2.0.1 Part 2 B05): one SetVariableResult per SetVariableData, in order: Accepted once stored
(every change applies at once, never RebootRequired), or UnknownComponent, UnknownVariable, NotSupportedAttributeType,
Rejected (ReadOnly, or a value the setting refuses, with its reason code); see `device_model.set_variable`. Each
item is stored on its own: a refused one leaves the others as set.

A request of more than ItemsPerMessage(SetVariables) items is answered with the CALLERROR OccurrenceConstraintViolation,
as B06.FR.16 has it for GetVariables; nothing is set.
"""

from typing import Any

from ocpp.v201 import call_result

from firmware.ocpp201.device_model import ITEMS_PER_MESSAGE, set_variable
from firmware.ocpp201.errors import at_most_items
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, set_variable_data: list[dict[str, Any]]) -> call_result.SetVariables:
    model = services.device_model
    assert model is not None, "the 2.0.1 adapter's services carry its device model"
    at_most_items(set_variable_data, ITEMS_PER_MESSAGE, "ItemsPerMessage(SetVariables)")
    return call_result.SetVariables(set_variable_result=[
        set_variable(model, item["component"], item["variable"], item["attribute_value"], item.get("attribute_type"))
        for item in set_variable_data])
