string Token = "MyToken";
DateTime SendDateTime = DateTime.Now;
string SMSMessageText = "پیامک تستی من";
string LineNumber = "public";
string Mobile = "9120000000";
short CodeLength = 4;


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "SendDateTime", SendDateTime.ToString() },
        { "SMSMessageText", SMSMessageText  },
        { "LineNumber", LineNumber },
        { "Mobile", Mobile },

        { "CodeLength", CodeLength.ToString() },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/SendOTP", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
