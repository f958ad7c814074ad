string Token = "MyToken";
string Mobile = "9120000000";
int PatternCodeID = 1;
string[] PatternValues = new string[] { "پارامتر 1", "پارامتر 2" };


using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "Mobile", Mobile },
        { "PatternCodeID", PatternCodeID.ToString() },
        { "PatternValues", string.Join(",",PatternValues)  },
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/CalculatePatternMessagePrice", data);

    string json = System.Text.UTF8Encoding.UTF8.GetString(bytes);//خروجی
}
