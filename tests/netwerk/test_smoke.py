from tests.conftest import login
from tests.factories import PASSWORD, make_user


def test_login_and_dashboard(client):
    user = make_user("deelnemer")
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert user.name in html
    assert user.organisation.name in html
