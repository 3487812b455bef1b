"""The citizen portal in Debian's chromium: every page is one a citizen can read and use, on a desktop and
a phone, and says nothing meant for developers."""

def test_every_citizen_page_is_titled_labelled_in_vietnamese_and_clean(stack, visitor):
    base, screen = stack.url("gateway"), visitor.screen
    pages = {"home": "/", "search": "/?q=khai+sinh", "procedure": "/thu-tuc/1.001193",
             "tracking": "/tra-cuu", "pickup-tracking": "/buu-chinh/tra-cuu", "not-found": "/khong-co-trang-nay"}
    problems = {}
    for name, path in pages.items():
        visitor.open(base + path)
        visitor.screenshot(f"portal-{name}-{screen}")
        if found := visitor.check():
            problems[name] = found
    assert problems == {}
