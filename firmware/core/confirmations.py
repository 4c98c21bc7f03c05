"""What the CSMS's confirmation of a transaction message means here: the one home of that logic.

A protocol adapter turns the confirmation into the CSMS's transaction id and its verdict on the idTag, and
calls these inside the outbox's confirmation transaction (`Outbox.confirmed`), so the record, the cache
and the queue change together.
"""

from firmware.auth.authorizer import Authorizer
from firmware.auth.idtag import IdTagInfo
from firmware.core.chargepoint import ChargePoint
from firmware.transactions.outbox import OutboxMessage
from firmware.transactions.store import TransactionStore


class Confirmations:
    def __init__(self, txs: TransactionStore, authorizer: Authorizer, charge_point: ChargePoint) -> None:
        self._txs = txs
        self._authorizer = authorizer
        self._charge_point = charge_point

    def start_confirmed(self, message: OutboxMessage, remote_id: str, info: IdTagInfo | None) -> None:
        """The CSMS accepted the start record (OCPP 1.6 §4.8 StartTransaction.conf, 2.0.1 E01 TransactionEvent
        Started): its id for the transaction and its idTagInfo, which updates the authorization cache (§3.5) and, for
        a refused idTag, the running session (`Connector.invalidated`). None: the CSMS said nothing of the idTag
        (2.0.1's idTokenInfo is optional)."""
        assert message.tx_ref is not None
        self._txs.confirm_start(message.tx_ref, remote_id, info.status if info else None,
                                info.parent_id_tag if info else None)
        if info is not None:
            self._authorizer.learn(message.body["id_tag"], info)
        self._charge_point.transaction_confirmed(message.tx_ref, remote_id, info)

    def stop_confirmed(self, message: OutboxMessage, info: IdTagInfo | None) -> None:
        """The CSMS accepted the stop record (§4.10 StopTransaction.conf): its idTagInfo, if any, updates the
        cache; the transaction's record may now be pruned."""
        if info is not None and message.body["id_tag"]:
            self._authorizer.learn(message.body["id_tag"], info)
        self._txs.prune()
