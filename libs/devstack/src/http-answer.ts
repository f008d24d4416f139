/** An HTTP answer as the test helpers hand it back: the status and the body, parsed as JSON when it is JSON. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

export async function readAnswer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text }; // not JSON (an error page, an empty body): the text
  }
}
