// RFC 9457 problem details for the JSON API: an AccountException carries its error's name, HTTP
// status and exit code from AccountErrorTable (the commands' exit statuses); the web's own refusals
// (not logged in, no right, a missing anti-forgery token, a malformed body) have names of their own.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static class Problems
{
    public const string ContentType = "application/problem+json";

    public static IResult From(AccountException e)
    {
        var entry = AccountErrorTable.For(e.Error);
        return Problem(entry.HttpStatus, entry.ProblemName, e.Message, entry.ExitCode);
    }

    public static IResult Unauthenticated() => Problem(401, "unauthenticated", "log in first (POST /login), or send an API key (Authorization: Bearer)");

    public static IResult Forbidden(string detail) => Problem(403, "forbidden", "forbidden: " + detail, AccountErrorTable.For(AccountError.Forbidden).ExitCode);

    public static IResult Csrf() => Problem(403, "csrf", $"the {Hosting.WebRequest.CsrfHeader} header must carry the session's token (GET /api/v1/me)");

    public static IResult BadBody(string detail) => Problem(400, "invalid-argument", detail, AccountErrorTable.For(AccountError.InvalidArgument).ExitCode);

    public static IResult Problem(int status, string name, string detail, int? exitCode = null) =>
        Results.Json(new ProblemBody("urn:mailward:problem:" + name, name, status, detail, name, exitCode), statusCode: status, contentType: ContentType);

    /// <param name="Error">The error's name, as AccountErrorTable and the commands name it.</param>
    /// <param name="ExitCode">The exit status the command line gives the same error.</param>
    public sealed record ProblemBody(string Type, string Title, int Status, string Detail, string Error, int? ExitCode);
}
