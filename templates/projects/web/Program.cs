using MyApp;

var builder = WebApplication.CreateBuilder(args);
var connectionString = builder.Configuration.GetConnectionString("DefaultConnection")
    ?? "DataSource=App_Data/app.db;Cache=Shared";
builder.Services.AddSingleton(new NotesDb(connectionString));

var app = builder.Build();
app.Services.GetRequiredService<NotesDb>().Migrate();

app.MapGet("/", () => Results.Text("My App is running: GET /api/notes, POST /api/notes {\"text\": \"...\"}"));

app.MapGet("/healthz", (NotesDb db) =>
{
    db.Ping();
    return Results.Ok(new { ok = true });
});

app.MapGet("/api/notes", (NotesDb db, int? limit) => db.List(Math.Clamp(limit ?? 50, 1, 500)));

app.MapPost("/api/notes", (NewNote input, NotesDb db) =>
{
    var text = input.Text?.Trim() ?? "";
    if (text.Length is < 1 or > 1000)
        return Results.BadRequest(new { error = "text must be 1 to 1000 characters" });
    var note = db.Add(text);
    return Results.Created($"/api/notes/{note.Id}", note);
});

app.Run();

public record NewNote(string? Text);
