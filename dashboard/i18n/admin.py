"""Catalogue of the administrator login."""

VI: dict[str, str] = {
    "admin.entry": "Đăng nhập quản trị",
    "admin.password": "Mật khẩu quản trị",
    "admin.login": "Đăng nhập",
    "admin.logout": "Đăng xuất quản trị",
    "admin.logged_in": "Đang đăng nhập với quyền quản trị.",
    "admin.wrong_password": "Sai mật khẩu quản trị. Vui lòng thử lại.",
    "admin.not_configured": "Chưa cấu hình mật khẩu quản trị (IOC_ADMIN_PASSWORD_HASH).",
}

EN: dict[str, str] = {
    "admin.entry": "Administrator login",
    "admin.password": "Administrator password",
    "admin.login": "Log in",
    "admin.logout": "Log out administrator",
    "admin.logged_in": "Logged in as administrator.",
    "admin.wrong_password": "Wrong administrator password. Please try again.",
    "admin.not_configured": "No administrator password is configured (IOC_ADMIN_PASSWORD_HASH).",
}
