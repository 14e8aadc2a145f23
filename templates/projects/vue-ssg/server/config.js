/** Folder of static files the server also serves: the pre-rendered site from vite-ssg. */
export const staticDir = 'dist';
