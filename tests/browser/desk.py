"""What an official does at the desk pages, for the browser tests."""
from tests.browser.conftest import OFFICIALS
from tests.browser.visitor import Visitor


def password_of(username: str) -> str:
    return next(password for name, password, _, _ in OFFICIALS if name == username)


def sign_in(visitor: Visitor, base: str, username: str, password: str | None = None) -> None:
    """Signs in with the built-in accounts (the password of OFFICIALS unless given) from a browser with no session."""
    visitor.context.clear_cookies()
    visitor.open(base + "/can-bo/dang-nhap")
    visitor.page.get_by_label("Tên đăng nhập").fill(username)
    visitor.page.get_by_label("Mật khẩu").fill(password if password is not None else password_of(username))
    visitor.page.get_by_role("button", name="Đăng nhập", exact=True).click()


def take_action(visitor: Visitor, action_label: str) -> None:
    """Sends the dossier page's form of that action (filled by the caller) and waits for the page saying it is done."""
    visitor.page.locator(f"form[aria-label='{action_label}'] button[type=submit]").click()
    visitor.page.wait_for_selector(f"text=Đã thực hiện: {action_label}")
