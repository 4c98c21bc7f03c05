"""GetBaseReport (OCPP 2.0.1 Part 2 B07): Accepted for FullInventory, ConfigurationInventory and SummaryInventory,
NotSupported for any other report base; never EmptyResultSet (each of the three has variables). Once the answer is
written, `then` sends the report as NotifyReportRequests of the request's id (`device_model.base_report`, through the
adapter's `reports` port, which splits it with seqNo and tbc)."""


from ocpp.v201 import call_result
from ocpp.v201.enums import GenericDeviceModelStatusEnumType

from firmware.ocpp201.device_model import ReportBase, base_report
from firmware.ocpp201.peer import Ocpp201Services


def handle(services: Ocpp201Services, request_id: int, report_base: str) -> call_result.GetBaseReport:
    known = report_base in {base.value for base in ReportBase}
    return call_result.GetBaseReport(
        status=GenericDeviceModelStatusEnumType.accepted if known else GenericDeviceModelStatusEnumType.not_supported)


def then(services: Ocpp201Services, answer: call_result.GetBaseReport, request_id: int, report_base: str) -> None:
    model = services.device_model
    assert model is not None, "the 2.0.1 adapter's services carry its device model"
    data = base_report(model, report_base) if answer.status == GenericDeviceModelStatusEnumType.accepted else None
    if data is not None and services.reports is not None:
        services.reports.notify_report(request_id, data)
