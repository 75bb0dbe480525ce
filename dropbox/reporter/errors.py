"""The reporter app's errors: one root, each with the sentence the reporter will read.

Views turn these into a page (JS-off) or `{"ok": false, "error": ...}` (JS-on)
with the status code each one carries. Messages are marked for translation
lazily and never contain anything the reporter sent.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class ReporterError(Exception):
    """Something the reporter can act on went wrong; `message` says what to do."""

    status = 400
    # Set where the page's JavaScript can recover by itself ("csrf": fetch a fresh
    # token and send the same envelopes again); sent as "code" in JSON answers.
    code: str | None = None

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail

    @property
    def message(self) -> str:
        return str(_l("Something was wrong with the form. Please go back and try again."))


class BadUpload(ReporterError):
    """The form or upload was malformed (the detail is for logs-free debugging only)."""


class CsrfFailed(ReporterError):
    status = 400
    code = "csrf"

    @property
    def message(self) -> str:
        return str(
            _l(
                "This form has expired or was not sent from this site. "
                "Please reload the page and send it again."
            )
        )


    @property
    def resend_message(self) -> str:
        """For the JS-off form shown again with the text the server had read."""
        return str(
            _l(
                "This form had expired, so nothing was sent yet. Your text is below: "
                "check it, choose any files again, and send it."
            )
        )


class UploadStalled(ReporterError):
    status = 408

    @property
    def message(self) -> str:
        return str(
            _l(
                "Your upload stopped arriving, so it was cancelled and nothing was saved. "
                "Please check your connection and send it again."
            )
        )


class InboxGone(ReporterError):
    status = 410

    @property
    def message(self) -> str:
        return str(
            _l(
                "This inbox no longer exists: the responders closed it. "
                "Your message was not saved, and you have been logged out."
            )
        )


class InboxClosed(ReporterError):
    """The logged-in reporter's inbox was deleted by the responders (a page view, not a post)."""

    status = 410

    @property
    def message(self) -> str:
        return str(
            _l(
                "This inbox no longer exists: the responders closed it, "
                "and you have been logged out."
            )
        )


class TooLarge(ReporterError):
    status = 413

    @property
    def message(self) -> str:
        return str(
            _l(
                "Your upload is larger than this drop accepts. Nothing was saved. "
                "Please send fewer or smaller files."
            )
        )


class NotAccepting(ReporterError):
    status = 503

    @property
    def message(self) -> str:
        return str(
            _l(
                "This drop is not accepting reports yet: no responder keys are set up. "
                "Nothing was saved."
            )
        )


class Busy(ReporterError):
    status = 503

    @property
    def message(self) -> str:
        return str(
            _l(
                "The drop is busy right now. Nothing was saved. "
                "Please wait a minute and try again."
            )
        )


class NotSaved(ReporterError):
    status = 500

    @property
    def message(self) -> str:
        return str(
            _l(
                "Your report could not be saved, and nothing of it was kept. "
                "Please try again in a little while."
            )
        )


class LoginFailed(ReporterError):
    status = 401

    @property
    def message(self) -> str:
        return str(
            _l(
                "That codename did not open an inbox. Check each word and try again. "
                "Codenames are eight words separated by spaces."
            )
        )


class TooManyAttempts(ReporterError):
    status = 429

    @property
    def message(self) -> str:
        return str(
            _l(
                "Too many codename attempts from this browser session. "
                "Please close the browser and try again later."
            )
        )


class NotLoggedIn(ReporterError):
    status = 403

    @property
    def message(self) -> str:
        return str(_l("Please log in with your codename first."))
