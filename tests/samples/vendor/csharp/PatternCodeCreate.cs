string Token = "MyToken";
string MessageText = "خوش آمدید: کد تایید شما %code%";
string NumberPatterns = "code"; // در صورت نیاز؛ در سرور به لیست تبدیل میشود
bool IsOTP = true;
string RequestDescription = "ثبت الگوی OTP خوشامد";

using (var client = new System.Net.WebClient())
{
    client.Headers.Add(System.Net.HttpRequestHeader.Authorization, Token);

    var data = new System.Collections.Specialized.NameValueCollection()
    {
        { "MessageText", MessageText },
        { "NumberPatterns", NumberPatterns },
        { "IsOTP", IsOTP.ToString() },
        { "RequestDescription", RequestDescription }
    };

    byte[] bytes = client.UploadValues("https://portal.amootsms.com/rest/PatternCodeCreate", data);
    string json = System.Text.Encoding.UTF8.GetString(bytes);
    Console.WriteLine(json); // خروجی JSON شامل Status, ValidationResult, Data
}
