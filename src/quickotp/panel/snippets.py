"""
The quick-start page's code: SendQuickOTP and VerifyQuickOTP in curl, PHP, Python and C#,
written for one gateway's base URL, with a placeholder where the token goes.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_PLACEHOLDER = "YOUR_TOKEN"  # noqa: S105 - where the reader puts theirs
SAMPLE_NUMBER = "09120000000"
SAMPLE_CODE = "123456"


@dataclass(frozen=True)
class Snippet:
    language: str  # its name, as the page shows it
    send: str
    verify: str


def snippets(base_url: str) -> list[Snippet]:
    """Every language's two calls against `base_url` (no trailing slash)."""
    send_url = f"{base_url}/rest/SendQuickOTP"
    verify_url = f"{base_url}/rest/VerifyQuickOTP"
    token, number, code = TOKEN_PLACEHOLDER, SAMPLE_NUMBER, SAMPLE_CODE
    return [
        Snippet(
            "curl",
            f"curl -X POST '{send_url}' -H 'Authorization: {token}' \\\n"
            f"     -d Mobile={number} -d CodeLength=6 -d OptionalCode=",
            f"curl -X POST '{verify_url}' -H 'Authorization: {token}' \\\n"
            f"     -d Mobile={number} -d Code={code}",
        ),
        Snippet(
            "PHP",
            _php(send_url, token, number, "'CodeLength' => 6, 'OptionalCode' => ''"),
            _php(verify_url, token, number, f"'Code' => '{code}'"),
        ),
        Snippet(
            "Python",
            _python(send_url, token, number, '"CodeLength": "6", "OptionalCode": ""'),
            _python(verify_url, token, number, f'"Code": "{code}"'),
        ),
        Snippet(
            "C#",
            _csharp(send_url, token, number, '["CodeLength"] = "6", ["OptionalCode"] = ""'),
            _csharp(verify_url, token, number, f'["Code"] = "{code}"'),
        ),
    ]


def _php(url: str, token: str, number: str, fields: str) -> str:
    return (
        "<?php\n"
        f"$ch = curl_init('{url}');\n"
        "curl_setopt_array($ch, [\n"
        "    CURLOPT_POST => true,\n"
        f"    CURLOPT_HTTPHEADER => ['Authorization: {token}'],\n"
        f"    CURLOPT_POSTFIELDS => http_build_query(['Mobile' => '{number}', {fields}]),\n"
        "    CURLOPT_RETURNTRANSFER => true,\n"
        "]);\n"
        "$answer = json_decode(curl_exec($ch), true);\n"
        "echo $answer['Status'], PHP_EOL;"
    )


def _python(url: str, token: str, number: str, fields: str) -> str:
    return (
        "import httpx\n\n"
        "answer = httpx.post(\n"
        f'    "{url}",\n'
        f'    headers={{"Authorization": "{token}"}},\n'
        f'    data={{"Mobile": "{number}", {fields}}},\n'
        ").json()\n"
        'print(answer["Status"])'
    )


def _csharp(url: str, token: str, number: str, fields: str) -> str:
    return (
        "using var http = new HttpClient();\n"
        f'http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "{token}");\n'
        "var form = new FormUrlEncodedContent(new Dictionary<string, string> {\n"
        f'    ["Mobile"] = "{number}", {fields} }});\n'
        f'var response = await http.PostAsync("{url}", form);\n'
        "Console.WriteLine(await response.Content.ReadAsStringAsync());"
    )
