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

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
