"""
An account's first run: the calls its app makes, and a test code sent to the person's own
number from the panel, through the same path as an API send (the fraud guard, admission
control, credit, the account's OTP pattern), as one of the account's tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from quickotp.domain.models import User
from quickotp.ports.people import PanelStore
from quickotp.ports.store import AccountStore
from quickotp.services.gateway import Gateway
from quickotp.services.sends import SentOtp
from quickotp.services.workspace import account_of

log = logging.getLogger(__name__)

TEST_CODE_LENGTH = 6
METHOD = "SendQuickOTP"  # what the test send is, for the token's allowed methods


@dataclass
class QuickStart:
    gateway: Gateway
    store: AccountStore
    panel: PanelStore

    async def test_send(self, user: User, *, token_id: int, mobile: str, ip: str | None) -> SentOtp:
        """
        SendQuickOTP to `mobile` as the account's token `token_id`, from address `ip`.
        Refused as the API would refuse it (GatewayError); NotFound for a token that is not
        the account's. A test number of the account is answered with its fixed code and
        sends nothing, as on the API.
        """
        account_id = account_of(user)
        token = await self.panel.get_token(account_id, token_id)
        account = await self.store.get_account(account_id)
        caller = self.gateway.caller_of(token, account, method=METHOD, ip=ip)
        sent = await self.gateway.send_quick_otp(
            caller, mobile=mobile, code_length=TEST_CODE_LENGTH
        )
        log.info("user %d sent a test code as token %d", user.id, token_id)
        return sent
