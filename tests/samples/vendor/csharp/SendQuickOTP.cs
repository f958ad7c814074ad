string Token = "MyToken";
string Mobile = "9120000000";
short CodeLength = 4;
string OptionalCode = "";


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "Mobile", Mobile  },
        { "CodeLength", CodeLength.ToString() },
        { "OptionalCode", OptionalCode.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/SendQuickOTP", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
