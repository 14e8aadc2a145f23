using MyApp;
using MyApp.Components;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
var connectionString = builder.Configuration.GetConnectionString("DefaultConnection")
    ?? "DataSource=App_Data/app.db;Cache=Shared";
builder.Services.AddSingleton(new NotesDb(connectionString));

var app = builder.Build();
app.Services.GetRequiredService<NotesDb>().Migrate();

app.UseStaticFiles();
app.UseAntiforgery();

app.MapGet("/healthz", (NotesDb db) =>
{
    db.Ping();
    return Results.Ok(new { ok = true });
});

// The same notes over HTTP (scripts, health checks, other services).
app.MapGet("/api/notes", (NotesDb db, int? limit) => db.List(Math.Clamp(limit ?? 50, 1, 500)));
app.MapPost("/api/notes", (NewNote input, NotesDb db) =>
{
    var text = input.Text?.Trim() ?? "";
    if (text.Length is < 1 or > 1000)
        return Results.BadRequest(new { error = "text must be 1 to 1000 characters" });
    var note = db.Add(text);
    return Results.Created($"/api/notes/{note.Id}", note);
});

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();

public record NewNote(string? Text);
