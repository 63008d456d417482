export { Subscriber } from "./subscriber";
